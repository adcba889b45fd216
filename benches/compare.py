"""Output checks of the benchmark: fletch's and PySpark's outputs of one job
must hold the same rows. Parquet tables are read with pyarrow (Hive
partitions included), normalised (partition values and list columns as
strings), sorted by a key and compared column by column. Tables too large to
keep side by side (the scaling run's) are reduced to digests by DuckDB: the
row count and the sum of every row's hash."""

import json
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds


def table(path):
    t = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    columns = {}
    for name in t.column_names:
        col = t[name]
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), "\x1f")
        elif pa.types.is_integer(col.type):
            col = col.cast(pa.int64())
        columns[name] = col
    return pa.table(columns)


def same_table(a_path, b_path, key):
    """None when equal, else a message naming the first difference."""
    a, b = table(a_path), table(b_path)
    if sorted(a.column_names) != sorted(b.column_names):
        return f"columns differ: {sorted(a.column_names)} vs {sorted(b.column_names)}"
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows vs {b.num_rows}"
    order = [(k, "ascending") for k in key]
    a, b = a.sort_by(order), b.sort_by(order)
    for name in a.column_names:
        x, y = a[name], b[name].cast(a[name].type)
        equal = pc.fill_null(pc.equal(x, y), False)
        both_null = pc.and_(pc.is_null(x), pc.is_null(y))
        bad = pc.invert(pc.or_(equal, both_null))
        if pc.any(bad).as_py():
            i = pc.index(bad, True).as_py()
            return f"column {name}, row {i} by {key}: {x[i]} vs {y[i]}"
    return None


def digest(path):
    """A table as (its columns, its row count, the sum of every row's hash):
    one streaming scan in DuckDB. Unequal multisets of rows give unequal
    digests but for a hash collision."""
    import duckdb

    con = duckdb.connect()
    scan = f"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
    columns = sorted(r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall())
    row = ", ".join(f'"{c}"' for c in columns)
    rows, hashes = con.execute(f"SELECT count(*), sum(hash({row})::HUGEINT) FROM {scan}").fetchone()
    return {"columns": columns, "rows": rows, "hash_sum": str(hashes)}


def same_digest(a, b):
    """None when two digests are equal, else what differs."""
    if a["columns"] != b["columns"]:
        return f"columns differ: {a['columns']} vs {b['columns']}"
    return None if a == b else f"(rows, sum of row hashes) ({a['rows']}, {a['hash_sum']}) vs ({b['rows']}, {b['hash_sum']})"


def same_json(a_path, b_path):
    with open(a_path) as fa, open(b_path) as fb:
        a, b = json.load(fa), json.load(fb)
    return None if a == b else f"{a_path} and {b_path} differ"


def same_shape(a_path, b_path):
    """For outputs with random choices: an object with the same keys, each with
    as many entries, or a list as long whose objects have the same keys."""
    with open(a_path) as fa, open(b_path) as fb:
        a, b = json.load(fa), json.load(fb)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{a_path}: {len(a)} entries vs {len(b)}"
        keys = lambda items: sorted({k for i in items if isinstance(i, dict) for k in i})
        return None if keys(a) == keys(b) else f"{a_path}: entry keys {keys(a)} vs {keys(b)}"
    if sorted(a) != sorted(b):
        return f"keys differ: {sorted(set(a) ^ set(b))[:5]}"
    bad = [k for k in a if len(a[k]) != len(b[k])]
    return f"entries differ for {bad[:5]}" if bad else None


def _pairs(n):
    return n * (n - 1) // 2


def adjusted_rand_index(x, y):
    """Agreement of two clusterings of the same items (1 = the same partition)."""
    both = sum(_pairs(n) for n in Counter(zip(x, y)).values())
    px, py = sum(_pairs(n) for n in Counter(x).values()), sum(_pairs(n) for n in Counter(y).values())
    expected = px * py / _pairs(len(x)) if len(x) > 1 else 0
    top = (px + py) / 2
    return 1.0 if top == expected else (both - expected) / (top - expected)


def same_members(a_path, b_path, key, group):
    """Two clusterings (Parquet tables of key, group): None and their agreement
    when they cluster the same keys, else a message naming the difference."""
    a, b = table(a_path), table(b_path)
    ka, kb = a[key].to_pylist(), b[key].to_pylist()
    if sorted(ka) != sorted(kb):
        only = sorted(set(ka) ^ set(kb))
        return f"clustered {len(ka)} vs {len(kb)} {key}s, {len(only)} in one only (e.g. {only[:3]})", None
    ga, gb = dict(zip(ka, a[group].to_pylist())), dict(zip(kb, b[group].to_pylist()))
    keys = sorted(ga)
    agreement = {"clusters": [len(set(ga.values())), len(set(gb.values()))],
                 "adjusted_rand_index": round(adjusted_rand_index([ga[k] for k in keys], [gb[k] for k in keys]), 3)}
    return None, agreement
