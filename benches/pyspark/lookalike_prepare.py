"""PySpark port of Blue Marlin's did-era lookalike preparation (main_keywords,
main_clean, main_logs, main_trainready; lookalike spec sections 4-7), written
for Spark 4 with the DataFrame API: built-in functions instead of the
original's Python UDFs, the whole date range in one pass instead of time
batches, and fletch's deterministic order inside intervals so that outputs
compare exactly. TFRecords are not written: Spark 4 has no TFRecord writer
without the spark-tensorflow-connector jar, which does not exist for Scala 2.13.

Usage: lookalike_prepare.py --data-root R --output-root O [--did-bucket-num 2]
       [--interval-seconds 86400] [--keyword-threshold 0.01]
Prints one JSON line of stage timings.
"""

import json
import time

from pyspark.sql import Window
from pyspark.sql import functions as F

from common import arguments, session


def seconds(col):
    """Epoch seconds of a naive 'YYYY-MM-DD HH:MM:SS[.f]' time read as UTC; NULL when malformed."""
    return F.unix_timestamp(F.try_to_timestamp(col, F.lit("yyyy-MM-dd HH:mm:ss[.SSSSSS]")))


def did_bucket(col, n):
    """int(sha256(did), 16) % n: the low 32 bits decide for powers of two."""
    if n & (n - 1) == 0 and n <= 1 << 32:
        return (F.conv(F.substring(F.sha2(col, 256), 57, 8), 16, 10).cast("long") % n).cast("string")
    raise SystemExit("this port handles --did-bucket-num powers of two only")


def field(name):
    """`x -> x.name`, for transform (which passes an index to two-argument lambdas)."""
    return lambda x: x[name]


def main():
    p = arguments()
    p.add_argument("--did-bucket-num", type=int, default=2)
    p.add_argument("--interval-seconds", type=int, default=86400)
    p.add_argument("--keyword-threshold", type=float, default=0.01)
    a = p.parse_args()
    spark = session("lookalike-prepare")
    read = lambda t: spark.read.parquet(f"{a.data_root}/{t}")
    out = lambda t: f"{a.output_root}/{t}"
    timings = {}
    start = time.time()

    # main_keywords: keywords above the threshold share of mapped shows.
    mapping = read("ad_keywords")
    showlog, clicklog = read("ads_showlog"), read("ads_clicklog")
    counts = showlog.where(seconds("show_time").isNotNull()).join(mapping, "spread_app_id").groupBy("keyword").count()
    counts = counts.cache()
    total = counts.agg(F.sum("count")).first()[0] or 0
    counts.where(F.col("count") > a.keyword_threshold * total).select("keyword").write.mode("overwrite").parquet(out("lookalike_keywords"))
    timings["keywords"] = time.time() - start

    # main_clean: persona with one (gender, age) per did; logs of kept slots, known dids, effective keywords.
    t = time.time()
    persona = read("ads_persona").select("did", F.col("gender_new_dev").alias("gender"), F.col("forecast_age_dev").alias("age")).distinct()
    single = persona.groupBy("did").count().where("count = 1").select("did")
    persona = (
        persona.join(single, "did")
        .select("did", F.col("gender").try_cast("int").alias("gender"), F.col("age").try_cast("int").alias("age"))
        .withColumn("did_bucket", did_bucket(F.col("did"), a.did_bucket_num))
    )
    persona.write.partitionBy("did_bucket").mode("overwrite").parquet(out("lookalike_persona"))
    persona = spark.read.parquet(out("lookalike_persona"))
    effective = spark.read.parquet(out("lookalike_keywords"))
    keywords = mapping.join(effective, "keyword")
    with open(f"{a.data_root}/slot_ids.json") as f:
        slots = json.load(f)
    columns = ["spread_app_id", "did", "adv_id", "media", "slot_id", "device_name", "net_type", "price_model",
               "action_time", "gender", "age", "keyword", "keyword_index", "day", "did_bucket"]
    for raw, time_column, table in [(showlog, "show_time", "lookalike_showlog"), (clicklog, "click_time", "lookalike_clicklog")]:
        logs = raw.select("did", "adv_id", F.col("adv_type").alias("media"), "slot_id", "spread_app_id", "device_name",
                          "net_type", F.col("adv_bill_mode_cd").alias("price_model"), F.col(time_column).alias("action_time"))
        logs = logs.where(F.col("slot_id").isin(slots) & seconds("action_time").isNotNull())
        logs = logs.join(persona, "did").join(F.broadcast(keywords), "spread_app_id")
        logs = logs.withColumn("day", F.substring("action_time", 1, 10)).select(columns)
        logs.write.partitionBy("day", "did_bucket").mode("overwrite").parquet(out(table))
    timings["clean"] = time.time() - t

    # main_logs: shows and clicks in one table with epoch seconds and interval starts.
    t = time.time()
    picked = ["did", "action_time", "keyword", "keyword_index", "media", "net_type", "gender", "age", "adv_id", "day", "did_bucket"]
    shows = spark.read.parquet(out("lookalike_showlog")).select(picked).withColumn("is_click", F.lit(0))
    clicks = spark.read.parquet(out("lookalike_clicklog")).select(picked).withColumn("is_click", F.lit(1))
    unified = shows.unionByName(clicks).withColumn("action_time_seconds", seconds("action_time").cast("int"))
    unified = unified.where(F.col("action_time_seconds").isNotNull()).withColumn(
        "interval_starting_time", (F.col("action_time_seconds") - F.pmod("action_time_seconds", F.lit(a.interval_seconds))).cast("int")
    )
    unified.select("did", "is_click", "action_time", "keyword", "keyword_index", "media", "net_type", "gender", "age", "adv_id",
                   "interval_starting_time", "action_time_seconds", "day", "did_bucket") \
        .write.partitionBy("day", "did_bucket").mode("overwrite").parquet(out("lookalike_logs"))
    timings["logs"] = time.time() - t

    # main_trainready: per (did, interval, keyword) counts, then per-interval strings, then per-did arrays.
    t = time.time()
    logs = spark.read.parquet(out("lookalike_logs"))
    per_keyword = logs.groupBy("did", "interval_starting_time", "keyword_index").agg(
        F.min("keyword").alias("keyword"), F.sum(1 - F.col("is_click")).alias("shows"), F.sum("is_click").alias("clicks"),
        F.max("age").alias("age"), F.max("gender").alias("gender"), F.max("did_bucket").alias("did_bucket"),
    )
    entries = F.sort_array(F.collect_list(F.struct("keyword_index", "keyword", "shows", "clicks")))
    joined = lambda f: F.concat_ws(",", F.transform("e", f))
    per_interval = per_keyword.groupBy("did", "interval_starting_time").agg(
        entries.alias("e"), F.max("age").alias("age"), F.max("gender").alias("gender"), F.max("did_bucket").alias("did_bucket")
    ).select(
        "did", "age", "gender", "did_bucket", F.col("interval_starting_time").cast("string").alias("interval_starting_time"),
        joined(lambda x: x["keyword"]).alias("interval_keywords"),
        joined(lambda x: x["keyword_index"].cast("string")).alias("kwi"),
        joined(lambda x: F.concat_ws(":", x["keyword_index"], x["shows"])).alias("kwi_show_counts"),
        joined(lambda x: F.concat_ws(":", x["keyword_index"], x["clicks"])).alias("kwi_click_counts"),
        F.col("interval_starting_time").alias("start"),
    )
    fields = ["interval_starting_time", "interval_keywords", "kwi", "kwi_show_counts", "kwi_click_counts"]
    per_did = per_interval.groupBy("did").agg(
        F.sort_array(F.collect_list(F.struct("start", *fields)), asc=False).alias("h"),
        F.max("age").alias("age"), F.max("gender").alias("gender"), F.max("did_bucket").alias("did_bucket"),
    )
    rank = F.row_number().over(Window.partitionBy("did_bucket").orderBy("did"))
    trainready = per_did.select(
        "age", "gender", "did",
        (F.col("did_bucket").cast("long") * 1_000_000_000 + rank).alias("did_index"),
        *[F.transform("h", field(f)).alias(f) for f in fields],
        "did_bucket",
    )
    trainready.write.partitionBy("did_bucket").mode("overwrite").parquet(out("lookalike_trainready"))
    timings["trainready"] = time.time() - t
    timings["total"] = time.time() - start
    print(json.dumps(timings))
    spark.stop()


if __name__ == "__main__":
    main()
