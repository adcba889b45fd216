"""Lookalike similarity side by side, one run (benches/similarity.sh runs it).

For each user count: `fletch gen lookalike` and `gen lookalike-scores` at
the matching scale, `fletch run lookalike-vectors` (29 keyword dimensions),
then the top-10 of every user over all users, on the same vectors and 2 cores:

- fletch: `lookalike-similarity` (exact, √m − euclidean, the original's ties),
  embedded, writing its Parquet table;
- faiss-cpu: `IndexFlatL2` (exact) and `IVF256,Flat` (trained on every vector,
  searched at several nprobe), 2 OpenMP threads, in a process of its own.

Reports wall, CPU and peak memory, and recall@10 of each against faiss's exact
lists (ties aside, fletch's exact lists hold the same users). Above
--flat-up-to users faiss's exact search is left out (it would take over
20 minutes at a million) and recall is against fletch's exact lists. Prints a
Markdown table for docs/performance.md, writes
benches/results/similarity-<date>.json and docs/similarity.png.
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

from measure import timed

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work" / "similarity"
PERSONA_ROWS_PER_USER = 1.03  # gen lookalike's persona rows per distinct user
PERSONA_ROWS = 380_000


def vectors(folder):
    """(dids, float32 matrix) of a lookalike_score_vector folder, by did."""
    import numpy as np
    import pyarrow.dataset as ds

    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table(columns=["did", "score_vector"]).sort_by("did")
    dids = table.column("did").to_pylist()
    matrix = np.array(table.column("score_vector").to_pylist(), dtype=np.float32)
    return dids, matrix


def faiss_run(folder, index_kind, nprobes, k, threads):
    """In its own process: build and search, print JSON (times, neighbour ids)."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(threads)
    dids, x = vectors(folder)
    start = time.monotonic()
    cpu0 = time.process_time()
    if index_kind == "flat":
        index = faiss.IndexFlatL2(x.shape[1])
        index.add(x)
        runs = [("flat", None)]
    else:
        index = faiss.index_factory(x.shape[1], "IVF256,Flat")
        index.train(x)
        index.add(x)
        runs = [(f"ivf nprobe={p}", p) for p in nprobes]
    build = time.monotonic() - start, time.process_time() - cpu0
    results = {}
    for name, nprobe in runs:
        if nprobe is not None:
            index.nprobe = nprobe
        start, cpu0 = time.monotonic(), time.process_time()
        _, ids = index.search(x, k)
        results[name] = {"search_wall": time.monotonic() - start, "search_cpu": time.process_time() - cpu0, "ids": ids.tolist()}
    print(json.dumps({"build_wall": build[0], "build_cpu": build[1], "runs": results}))


def recall(found, truth):
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth))
    return hits / sum(len(t) for t in truth)


def one_size(fletch, users, k, threads, nprobes, flat):
    scale = users * PERSONA_ROWS_PER_USER / PERSONA_ROWS
    data, out = WORK / f"data-{users}", WORK / f"out-{users}"
    if not (data / "_manifest.json").exists():
        subprocess.run([fletch, "gen", "lookalike", "-q", "--output-root", str(data), "--scale", f"{scale:.6f}", "--days", "1"], check=True)
        subprocess.run([fletch, "gen", "lookalike-scores", "-q", "--output-root", str(data), "--scale", f"{scale:.6f}"], check=True)
    subprocess.run([fletch, "run", "lookalike-vectors", "-q", "--data-root", str(data), "--output-root", str(out), "--scores-from", "data"], check=True, stdout=subprocess.DEVNULL)
    folder = out / "lookalike_score_vector"
    dids, x = vectors(folder)
    result = {"users": len(dids), "dims": int(x.shape[1]), "k": k}

    wall, cpu, rss, _ = timed([fletch, "run", "lookalike-similarity", "-q", "--data-root", str(data), "--output-root", str(out), "--top-n", str(k)])
    result["fletch_exact"] = {"wall": wall, "cpu": cpu, "peak_mb": rss}
    import pyarrow.dataset as ds

    lists = ds.dataset(out / "lookalike_similarity", format="parquet", partitioning="hive").to_table().to_pylist()
    index = {d: i for i, d in enumerate(dids)}
    ours = [None] * len(dids)
    for row in lists:
        ours[index[row["did"]]] = [index[s["did"]] for s in row["top_n_similar_user"]]

    for nprobe in nprobes:
        ivf_out = WORK / f"out-{users}-ivf{nprobe}"
        wall, cpu, rss, _ = timed([fletch, "run", "lookalike-similarity", "-q", "--data-root", str(data), "--output-root", str(out), "--top-n", str(k),
                                   "--method", "ivf", "--nlist", "256", "--nprobe", str(nprobe), "--recall-sample", "0"])
        lists = ds.dataset(out / "lookalike_similarity", format="parquet", partitioning="hive").to_table().to_pylist()
        found = [None] * len(dids)
        for row in lists:
            found[index[row["did"]]] = [index[s["did"]] for s in row["top_n_similar_user"]]
        result[f"fletch_ivf_nprobe{nprobe}"] = {"wall": wall, "cpu": cpu, "peak_mb": rss, "found": found}
    me = [sys.executable, __file__, "--faiss", str(folder), "--k", str(k), "--threads", str(threads), "--nprobes", ",".join(map(str, nprobes))]
    if flat:
        wall, cpu, rss, text = timed(me + ["--kind", "flat"])
        answer = json.loads(text)
        truth = answer["runs"]["flat"]["ids"]
        result["faiss_flat"] = {"wall": wall, "cpu": cpu, "peak_mb": rss, "search_wall": answer["runs"]["flat"]["search_wall"]}
        result["truth"] = "faiss IndexFlatL2"
    else:
        truth = ours
        result["truth"] = "fletch exact"
    result["fletch_exact"]["recall"] = recall(ours, truth)
    for nprobe in nprobes:
        run = result[f"fletch_ivf_nprobe{nprobe}"]
        run["recall"] = recall(run.pop("found"), truth)
    wall, cpu, rss, text = timed(me + ["--kind", "ivf"])
    ivf = json.loads(text)
    result["faiss_ivf"] = {"wall": wall, "cpu": cpu, "peak_mb": rss, "build_wall": ivf["build_wall"],
                           "runs": {name: {"search_wall": r["search_wall"], "recall": recall(r["ids"], truth)} for name, r in ivf["runs"].items()}}
    return result


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    users = [r["users"] for r in results]
    ax.plot(users, [r["fletch_exact"]["wall"] for r in results], "o-", label="fletch exact (job, incl. Parquet I/O)")
    flat = [r for r in results if "faiss_flat" in r]
    ax.plot([r["users"] for r in flat], [r["faiss_flat"]["wall"] for r in flat], "s-", label="faiss IndexFlatL2 (process)")
    ax.plot(users, [r["faiss_ivf"]["wall"] for r in results], "^-", label="faiss IVF256,Flat, all nprobe (process)")
    ax.plot(users, [r["fletch_ivf_nprobe8"]["wall"] for r in results], "v-", label="fletch IVF nlist 256, nprobe 8 (job)")
    ax.set_xlabel("users (29 dimensions, top-10 of all)")
    ax.set_ylabel("wall seconds, 2 cores")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fletch")
    p.add_argument("--users", default="100000,300000")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--nprobes", default="4,8,16")
    p.add_argument("--flat-up-to", type=int, default=300_000, help="run faiss IndexFlatL2 only up to this many users")
    p.add_argument("--faiss")
    p.add_argument("--kind")
    a = p.parse_args()
    nprobes = [int(n) for n in a.nprobes.split(",")]
    if a.faiss:
        return faiss_run(a.faiss, a.kind, nprobes, a.k, a.threads)
    WORK.mkdir(parents=True, exist_ok=True)
    results = [one_size(a.fletch, int(n), a.k, a.threads, nprobes, int(n) <= a.flat_up_to) for n in a.users.split(",")]
    date = datetime.date.today().isoformat()
    out = ROOT / "benches" / "results" / f"similarity-{date}.json"
    out.write_text(json.dumps({"date": date, "cores": os.cpu_count(), "results": results}, indent=2) + "\n")
    chart(results, ROOT / "docs" / "similarity.png")
    print("| users | fletch exact | faiss IndexFlatL2 | ratio | faiss IVF256,Flat (build + searches) | best faiss IVF search at recall ≥ 0.95 |")
    print("|---|---|---|---|---|---|")
    for r in results:
        fe, ff, fi = r["fletch_exact"], r.get("faiss_flat"), r["faiss_ivf"]
        good = [(n, v) for n, v in fi["runs"].items() if v["recall"] >= 0.95]
        best = min(good, key=lambda x: x[1]["search_wall"]) if good else None
        best_text = f"{best[0]}: {best[1]['search_wall']:.1f} s, recall {best[1]['recall']:.3f}" if best else "none"
        flat_text = f"{ff['wall']:.1f} s, {ff['cpu']:.1f} s CPU, {ff['peak_mb']:.0f} MB | {ff['wall'] / fe['wall']:.2f}×" if ff else "not run | –"
        print(f"| {r['users']:,} | {fe['wall']:.1f} s wall, {fe['cpu']:.1f} s CPU, {fe['peak_mb']:.0f} MB | {flat_text} | {fi['wall']:.1f} s | {best_text} |")
    print()
    print("| users | fletch IVF nprobe | wall | CPU | peak | recall@10 vs exact | exact lists from | speed-up over fletch exact |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for nprobe in nprobes:
            run = r[f"fletch_ivf_nprobe{nprobe}"]
            print(f"| {r['users']:,} | {nprobe} | {run['wall']:.1f} s | {run['cpu']:.1f} s | {run['peak_mb']:.0f} MB | {run['recall']:.3f} | {r['truth']} | {r['fletch_exact']['wall'] / run['wall']:.1f}× |")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
