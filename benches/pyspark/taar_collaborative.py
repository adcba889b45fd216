"""PySpark port of telemetry-batch-view's AddonRecommender (docs/jobs/taar-collaborative.md)
in Spark 4's DataFrame API: each Firefox release client's latest day in the
90 days to --date, its add-ons that are known in every flag, not
blocklisted, signed if an extension, enabled, not system, whitelisted and on
AMO, then Spark ML's implicit ALS (rank 15, regParam 0.1, alpha 1.0, 20
iterations, as fletch's defaults) and the item matrix and add-on mapping.

Usage: taar_collaborative.py --data-root R --output-root O --date YYYYMMDD [--seed 42]
Writes O/item_matrix.json and O/addon_mapping.json; prints one JSON line of timings.
"""

import datetime
import json
import os
import time

from pyspark.ml.recommendation import ALS
from pyspark.sql import Window
from pyspark.sql import functions as F

from common import arguments, curated_whitelist, session


def positive_hash(guid):
    h = 0
    for c in guid:
        h = (31 * h + ord(c)) & 0xFFFFFFFF
    return h & 0x7FFFFF


def mapping_entry(guid, record):
    name = record.get("name", {}).get(record.get("default_locale") or "", None) or "Unknown"
    files = record.get("current_version", {}).get("files", [])
    web = any(f.get("is_webextension") is True and str(f.get("status", "")).lower() == "public" for f in files)
    return {"name": name, "id": guid, "isWebextension": web}


def main():
    p = arguments()
    p.add_argument("--date", required=True)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    spark = session("taar-collaborative")
    # ALS's lineage grows with every iteration: without checkpoints (every 10
    # iterations by default, only with a checkpoint folder) 20 overflow the stack.
    spark.sparkContext.setCheckpointDir(os.path.join(a.output_root, "checkpoints"))
    start = time.time()
    whitelist = curated_whitelist(a.data_root)
    with open(f"{a.data_root}/telemetry-ml/addon_recommender/extended_addons_database.json") as f:
        amo = json.load(f)
    date_from = (datetime.datetime.strptime(a.date, "%Y%m%d").date() - datetime.timedelta(days=90)).strftime("%Y%m%d")

    clients = spark.read.parquet(f"{a.data_root}/clients_daily").where(
        F.col("client_id").isNotNull() & F.col("active_addons").isNotNull() & (F.col("channel") == "release")
        & (F.col("app_name") == "Firefox") & (F.col("submission_date_s3") >= date_from) & (F.col("submission_date_s3") <= a.date)
    )
    latest = Window.partitionBy("client_id").orderBy(F.col("submission_date_s3").desc())
    sample = clients.withColumn("rn", F.row_number().over(latest)).where("rn = 1")
    known = F.array(*[F.lit(g) for g in whitelist if g in amo])
    flags = ["addon_id", "name", "blocklisted", "signed_state", "user_disabled", "app_disabled", "type", "is_system"]
    rated = sample.select("client_id", F.explode("active_addons").alias("a")).where(
        F.expr(" AND ".join(f"a.{c} IS NOT NULL" for c in flags))
        & ~F.col("a.blocklisted") & ((F.col("a.type") != "extension") | (F.col("a.signed_state") == 2))
        & ~F.col("a.user_disabled") & ~F.col("a.app_disabled") & ~F.col("a.is_system")
        & F.array_contains(known, F.col("a.addon_id"))
    ).select("client_id", F.col("a.addon_id").alias("guid")).distinct()
    items = sorted(r["guid"] for r in rated.select("guid").distinct().collect())
    index = spark.createDataFrame([(g, i) for i, g in enumerate(items)], ["guid", "item"])
    users = rated.select("client_id").distinct().withColumn("user", F.row_number().over(Window.orderBy("client_id")))
    ratings = rated.join(index, "guid").join(users, "client_id").select("user", "item", F.lit(1.0).alias("rating")).cache()
    ratings.count()
    selected = time.time()

    als = ALS(rank=15, regParam=0.1, alpha=1.0, maxIter=20, implicitPrefs=True, seed=a.seed,
              userCol="user", itemCol="item", ratingCol="rating")
    model = als.fit(ratings)
    factors = {r["id"]: r["features"] for r in model.itemFactors.collect()}
    trained = time.time()

    matrix = [{"id": positive_hash(g), "features": [float(x) for x in factors[i]]} for i, g in enumerate(items)]
    mapping = {str(positive_hash(g)): mapping_entry(g, amo[g]) for g in items}
    with open(os.path.join(a.output_root, "item_matrix.json"), "w") as f:
        json.dump(matrix, f)
    with open(os.path.join(a.output_root, "addon_mapping.json"), "w") as f:
        json.dump(mapping, f)
    done = time.time()
    print(json.dumps({"select": selected - start, "train": trained - selected, "write": done - trained, "total": done - start}))
    spark.stop()


if __name__ == "__main__":
    main()
