"""The web warehouse side by side, one run (benches/web.sh runs it):

1. access logs: one plain day of `fletch gen webapp` (Combined lines) parsed
   and routed by `fletch run access-logs`, by DuckDB (`regexp_extract` of the
   nine fields and `strptime`, written as Parquet like fletch's table) and by
   the `apachelogs` package with a Django-style matcher
   (tests/consumers/access_logs.py, on the first lines only: it is slow);
2. db-import: a PostgreSQL table (tests/databases.sh's server) imported with
   1, 2 and 4 splits.

Prints a Markdown table for docs/performance.md and writes
benches/results/web-<date>.json.
"""

import argparse
import datetime
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import duckdb

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work" / "web"

# The blog's nine fields of a Combined line (DuckDB extracts at most nine
# groups), with escaped quotes allowed in the quoted fields.
COMBINED = r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$'


def timed(cmd, env=None):
    """Wall and CPU seconds of a command and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def lines_of(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def access_logs(fletch, scale, sample):
    data, out = WORK / "data", WORK / "out"
    manifest = data / "_manifest.json"
    if not manifest.exists() or json.loads(manifest.read_text())["datasets"].get("webapp", {}).get("scale") != scale:
        subprocess.run([fletch, "gen", "webapp", "-q", "--output-root", str(data), "--scale", str(scale)], check=True)
    day = sorted((data / "access_logs").glob("*.log"))[0]
    lines = lines_of(day)
    routes = data / "webapp" / "routes.tsv"
    results = {"lines": lines, "file": day.name, "bytes": day.stat().st_size}

    wall, cpu = timed([fletch, "run", "access-logs", "-q", "--data-root", str(data), "--output-root", str(out),
                       "--input", f"access_logs/{day.name}", "--routes", str(routes)])
    results["fletch"] = {"wall": wall, "cpu": cpu, "what": "parse, route, write Parquet by day"}

    target = WORK / "duckdb.parquet"
    con = duckdb.connect()
    con.execute("SET threads = 2")
    names = ["client_ip", "time", "method", "target", "protocol", "status", "bytes", "referrer", "user_agent"]
    # One match per line: the name-list form returns every group as a struct.
    fields = f"unnest(regexp_extract(line, '{COMBINED.replace(chr(39), chr(39) * 2)}', {names!r}))"
    sql = f"""
        COPY (
          SELECT * REPLACE (try_strptime(time, '%d/%b/%Y:%H:%M:%S %z') AS time, TRY_CAST(status AS INTEGER) AS status, TRY_CAST(bytes AS BIGINT) AS bytes)
          FROM (SELECT {fields} FROM read_csv('{day}', columns = {{'line': 'VARCHAR'}}, delim = '\\x1f', quote = '', escape = '', header = false))
          WHERE status <> ''
        ) TO '{target}' (FORMAT parquet)"""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    con.execute(sql)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    results["duckdb"] = {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                         "what": "one regexp_extract of 9 fields, try_strptime, write Parquet; no routing", "version": duckdb.__version__}

    head = WORK / "sample.log"
    with open(day, "rb") as src, open(head, "wb") as dst:
        for i, line in enumerate(src):
            if i == sample:
                break
            dst.write(line)
    consumer = ROOT / "tests" / "consumers" / "access_logs.py"
    wall, cpu = timed([sys.executable, str(consumer), "combined", str(routes), str(head)])
    results["apachelogs"] = {"wall": wall, "cpu": cpu, "lines": sample, "what": "apachelogs 0.6 parse and a Python re matcher, one core"}
    return results


def db_import(fletch, rows):
    subprocess.run(["bash", str(ROOT / "tests" / "databases.sh"), "start"], check=True)
    env_file = pathlib.Path(os.environ.get("FLETCH_TEST_DB_DIR", "/tmp/fletch-test-dbs")) / "env"
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    url = env["FLETCH_TEST_POSTGRES"]
    run_env = {**os.environ, "PGPASSWORD": env["FLETCH_TEST_DB_PASSWORD"], "FLETCH_DB_PASSWORD": env["FLETCH_TEST_DB_PASSWORD"]}
    subprocess.run(["psql", "-X", "-q", url, "-c", "DROP TABLE IF EXISTS bench_import", "-c",
                    f"""CREATE TABLE bench_import AS SELECT g AS id, 'user' || g AS name, (g % 97)::numeric(10, 2) AS amount,
                        now() - g * interval '1 second' AS at, g % 3 = 0 AS flag FROM generate_series(1, {rows}) g"""],
                   check=True, env=run_env)
    results = {"rows": rows, "columns": "int, text, numeric(10,2), timestamptz, bool"}
    for splits in (1, 2, 4):
        out = WORK / f"import-{splits}"
        wall, cpu = timed([fletch, "run", "db-import", "-q", "--data-root", str(WORK), "--output-root", str(out), "--connect", url, "--table", "bench_import",
                           "--split-by", "id", "--num-splits", str(splits)], env=run_env)
        results[f"splits_{splits}"] = {"wall": wall, "cpu": cpu}
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fletch", required=True)
    parser.add_argument("--scale", type=float, default=10.0, help="gen webapp --scale (10: 5M lines a day)")
    parser.add_argument("--sample", type=int, default=200_000, help="lines apachelogs parses")
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows db-import reads")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    logs = access_logs(args.fletch, args.scale, args.sample)
    imports = db_import(args.fletch, args.rows)
    cores = os.cpu_count()
    result = {"date": datetime.date.today().isoformat(), "cores": cores, "access_logs": logs, "db_import": imports}
    out = ROOT / "benches" / "results" / f"web-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")

    n = logs["lines"]
    print(f"Access logs: {n:,} Combined lines ({logs['bytes'] / 1e9:.2f} GB), {cores} cores, one run\n")
    print("| engine | what | wall | CPU | lines/s | lines/s per CPU-second |")
    print("|---|---|---|---|---|---|")
    for name in ("fletch", "duckdb", "apachelogs"):
        r = logs[name]
        lines = r.get("lines", n)
        print(f"| {name} | {r['what']} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {lines / r['wall'] / 1e3:,.0f} k | {lines / r['cpu'] / 1e3:,.0f} k |")
    print(f"\ndb-import from PostgreSQL: {imports['rows']:,} rows ({imports['columns']})\n")
    print("| splits | wall | CPU (fletch) | rows/s |")
    print("|---|---|---|---|")
    for splits in (1, 2, 4):
        r = imports[f"splits_{splits}"]
        print(f"| {splits} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {imports['rows'] / r['wall'] / 1e3:,.0f} k |")
    print(f"\n(results: {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
