"""DuckDB port of Blue Marlin's did-era lookalike preparation (main_keywords,
main_clean, main_logs, main_trainready; lookalike spec sections 4-7), the
peer that issue #28 measures fletch's stages against. It follows the PySpark
port (benches/pyspark/lookalike_prepare.py) step for step in DuckDB's SQL:
each stage reads the previous stage's Parquet output and writes its own
with COPY ... PARTITION_BY, so stage times compare one to one. TFRecords are
not written (DuckDB has no TFRecord writer).

Usage: lookalike_prepare.py --data-root R --output-root O [--did-bucket-num 2]
       [--interval-seconds 86400] [--keyword-threshold 0.01] [--threads N]
Prints one JSON line of stage timings.
"""

import argparse
import json
import os
import time

import duckdb

# Epoch seconds of a naive 'YYYY-MM-DD HH:MM:SS[.f]' time read as UTC
# (fraction truncated); NULL when malformed. The shape test plus a cast is
# DuckDB's fast way (try_strptime with the two formats takes 6x as long).
SECONDS = r"""CREATE MACRO seconds(t) AS CASE
    WHEN regexp_full_match(t, '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?')
    THEN epoch(date_trunc('second', try_cast(t AS TIMESTAMP)))::BIGINT END"""

# int(sha256(did), 16) % n: for n a power of two up to 2^32 the low 32 bits decide.
DID_BUCKET = """CREATE MACRO did_bucket(did, n) AS
    (('0x' || right(sha256(did), 8))::UBIGINT % n)::VARCHAR"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", required=True)
    p.add_argument("--output-root", required=True)
    p.add_argument("--did-bucket-num", type=int, default=2)
    p.add_argument("--interval-seconds", type=int, default=86400)
    p.add_argument("--keyword-threshold", type=float, default=0.01)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    n = a.did_bucket_num
    if n & (n - 1) or n > 1 << 32:
        raise SystemExit("this port handles --did-bucket-num powers of two only")

    db = duckdb.connect(config={"threads": a.threads, "preserve_insertion_order": False})
    db.execute(SECONDS)
    db.execute(DID_BUCKET)
    read = lambda t: f"read_parquet('{a.data_root}/{t}/*.parquet')"
    out = lambda t: f"{a.output_root}/{t}"
    written = lambda t: f"read_parquet('{out(t)}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"

    def write(select, table, partitions=()):
        if partitions:
            db.execute(f"COPY ({select}) TO '{out(table)}' (FORMAT parquet, PARTITION_BY ({', '.join(partitions)}))")
        else:
            os.makedirs(out(table), exist_ok=True)
            db.execute(f"COPY ({select}) TO '{out(table)}/part-0.parquet' (FORMAT parquet)")

    timings = {}
    start = time.time()

    # main_keywords: keywords above the threshold share of mapped shows.
    db.execute(f"""CREATE TEMP TABLE counts AS
        SELECT k.keyword, count(*) AS shows
        FROM {read('ads_showlog')} s JOIN {read('ad_keywords')} k USING (spread_app_id)
        WHERE seconds(s.show_time) IS NOT NULL
        GROUP BY k.keyword""")
    write(f"SELECT keyword FROM counts WHERE shows > {a.keyword_threshold} * (SELECT sum(shows) FROM counts)", "lookalike_keywords")
    timings["keywords"] = time.time() - start

    # main_clean: persona with one (gender, age) per did; logs of kept slots, known dids, effective keywords.
    t = time.time()
    write(f"""WITH combinations AS (
            SELECT DISTINCT did, gender_new_dev AS gender, forecast_age_dev AS age FROM {read('ads_persona')} WHERE did IS NOT NULL
        )
        SELECT did, TRY_CAST(max(gender) AS INT) AS gender, TRY_CAST(max(age) AS INT) AS age, did_bucket(did, {n}) AS did_bucket
        FROM combinations GROUP BY did HAVING count(*) = 1""", "lookalike_persona", ["did_bucket"])
    with open(f"{a.data_root}/slot_ids.json") as f:
        slots = ", ".join(f"'{s}'" for s in json.load(f))
    for raw, time_column, table in [("ads_showlog", "show_time", "lookalike_showlog"), ("ads_clicklog", "click_time", "lookalike_clicklog")]:
        write(f"""SELECT l.spread_app_id, l.did, l.adv_id, l.adv_type AS media, l.slot_id, l.device_name, l.net_type,
                   l.adv_bill_mode_cd AS price_model, l.{time_column} AS action_time, p.gender, p.age, k.keyword,
                   k.keyword_index, substr(l.{time_column}, 1, 10) AS day, p.did_bucket
            FROM {read(raw)} l
            JOIN {written('lookalike_persona')} p ON l.did = p.did
            JOIN (SELECT * FROM {read('ad_keywords')} WHERE keyword IN (SELECT keyword FROM {written('lookalike_keywords')})) k
              ON l.spread_app_id = k.spread_app_id
            WHERE l.slot_id IN ({slots}) AND seconds(l.{time_column}) IS NOT NULL""", table, ["day", "did_bucket"])
    timings["clean"] = time.time() - t

    # main_logs: shows and clicks in one table with epoch seconds and interval starts.
    t = time.time()
    picked = "did, action_time, keyword, keyword_index, media, net_type, gender, age, adv_id, day, did_bucket"
    write(f"""WITH unified AS (
            SELECT {picked}, 0 AS is_click, seconds(action_time) AS s FROM {written('lookalike_showlog')}
            UNION ALL
            SELECT {picked}, 1 AS is_click, seconds(action_time) AS s FROM {written('lookalike_clicklog')}
        )
        SELECT did, is_click::INT AS is_click, action_time, keyword, keyword_index, media, net_type, gender, age, adv_id,
               (s - ((s % {a.interval_seconds}) + {a.interval_seconds}) % {a.interval_seconds})::INT AS interval_starting_time,
               s::INT AS action_time_seconds, day, did_bucket
        FROM unified WHERE s BETWEEN -2147483648 AND 2147483647""", "lookalike_logs", ["day", "did_bucket"])
    timings["logs"] = time.time() - t

    # main_trainready: per (did, interval, keyword) counts, then per-interval strings, then per-did arrays.
    t = time.time()
    joined = lambda expr: f"array_to_string(list_transform(e, x -> {expr}), ',')"
    fields = ["interval_starting_time", "interval_keywords", "kwi", "kwi_show_counts", "kwi_click_counts"]
    write(f"""WITH per_keyword AS (
            SELECT did, interval_starting_time, keyword_index, min(keyword) AS keyword, sum(1 - is_click) AS shows,
                   sum(is_click) AS clicks, max(age) AS age, max(gender) AS gender, max(did_bucket) AS did_bucket
            FROM {written('lookalike_logs')}
            GROUP BY did, interval_starting_time, keyword_index
        ), per_interval AS (
            SELECT did, max(age) AS age, max(gender) AS gender, max(did_bucket) AS did_bucket, interval_starting_time AS start,
                   list({{'keyword_index': keyword_index, 'keyword': keyword, 'shows': shows, 'clicks': clicks}}
                        ORDER BY keyword_index, keyword) AS e
            FROM per_keyword GROUP BY did, interval_starting_time
        ), per_did AS (
            SELECT did, max(age) AS age, max(gender) AS gender, max(did_bucket) AS did_bucket,
                   list({{'interval_starting_time': start::VARCHAR,
                          'interval_keywords': {joined('x.keyword')},
                          'kwi': {joined('x.keyword_index::VARCHAR')},
                          'kwi_show_counts': {joined("x.keyword_index || ':' || x.shows")},
                          'kwi_click_counts': {joined("x.keyword_index || ':' || x.clicks")}}} ORDER BY start DESC) AS h
            FROM per_interval GROUP BY did
        )
        SELECT age, gender, did,
               did_bucket::BIGINT * 1000000000 + row_number() OVER (PARTITION BY did_bucket ORDER BY did) AS did_index,
               {', '.join(f"list_transform(h, x -> x.{f}) AS {f}" for f in fields)},
               did_bucket
        FROM per_did""", "lookalike_trainready", ["did_bucket"])
    timings["trainready"] = time.time() - t
    timings["total"] = time.time() - start
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
