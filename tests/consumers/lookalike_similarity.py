"""Blue Marlin's top-N similarity (top_n_similarity_table_generator.py at
e9316a4, spec lookalike.md §10.4), re-run in numpy over the score vectors
lookalike-vectors wrote: for each user bucket, for each candidate bucket in
order, sqrt(m) - euclidean distance against the bucket's matrix, merged with
heapq.nlargest into the user's kept list, which Spark stored as floats.
Matrix rows hold a bucket's users by did (lookalike_score_matrix's order).
Prints {did: [[did, score], ...]} as JSON.

Usage: lookalike_similarity.py SCORE_VECTOR_DIR TOP_N DID_BUCKET_SIZE CROSS_BUCKET_SIZE
"""

import heapq
import json
import sys

import numpy as np
import pyarrow.dataset as ds


def main():
    folder, top_n, bucket_size, cross_size = sys.argv[1], *map(int, sys.argv[2:5])
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
    buckets = {}
    for row in sorted(table, key=lambda r: r["did"]):
        buckets.setdefault(int(row["did_bucket"]), []).append(row)
    matrix = {b: (np.array([r["score_vector"] for r in rows], dtype=np.float32), np.array([r["c1"] for r in rows], dtype=np.float32)) for b, rows in buckets.items()}
    out = {}
    for b in range(0, bucket_size):
        if b not in buckets:
            continue
        users, (u_mat, u_c1) = buckets[b], matrix[b]
        top = [[] for _ in users]
        m = u_mat.shape[1]
        for c in range(0, cross_size):
            if c not in buckets:
                continue
            cross, (c_mat, c_c1) = buckets[c], matrix[c]
            cross_mat = u_mat.astype(np.float64) @ c_mat.astype(np.float64).T
            for i in range(len(users)):
                d2 = u_c1[i].astype(np.float64) + c_c1.astype(np.float64) - 2 * cross_mat[i]
                sim = np.sqrt(m) - np.sqrt(np.maximum(d2, 0))
                candidates = [(v["did"], float(s)) for v, s in zip(cross, sim)] + top[i]
                kept = heapq.nlargest(top_n, candidates, key=lambda x: x[1])
                top[i] = [(d, float(np.float32(s))) for d, s in kept]
        for user, kept in zip(users, top):
            out[user["did"]] = kept
    print(json.dumps(out))


if __name__ == "__main__":
    main()
