"""PySpark port of mozetl's taar_locale (docs/jobs/taar-locale.md) in Spark 4's
DataFrame API: each Firefox release client's latest day in the window, its
enabled signed extensions, one whitelisted add-on per client chosen at
random, clients per (locale, add-on), then on the driver the grid of every
locale by the whitelist, optional Laplace noise, the shift to a minimum of
0, proportions and the top N (ties to the later whitelist entry).

Usage: taar_locale.py --data-root R --output-root O --date YYYYMMDD [--days 28]
       [--num-addons 10] [--noise none|laplace] [--epsilon 0.4] [--seed 42]
Writes O/top10_dict.json; prints one JSON line of timings.
"""

import datetime
import json
import os
import random
import time

from pyspark.sql import Window
from pyspark.sql import functions as F

from common import arguments, curated_whitelist, session


def main():
    p = arguments()
    p.add_argument("--date", required=True)
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--num-addons", type=int, default=10)
    p.add_argument("--noise", choices=["none", "laplace"], default="laplace")
    p.add_argument("--epsilon", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    spark = session("taar-locale")
    start = time.time()
    whitelist = curated_whitelist(a.data_root)

    # The original reads num-days + 1 days back, the run date included.
    end = datetime.datetime.strptime(a.date, "%Y%m%d").date()
    first = (end - datetime.timedelta(days=a.days + 2)).strftime("%Y%m%d")
    clients = spark.read.parquet(f"{a.data_root}/clients_daily").where(
        (F.col("app_name") == "Firefox") & (F.col("channel") == "release") & F.col("client_id").isNotNull()
        & (F.col("submission_date_s3") > first) & (F.col("submission_date_s3") <= a.date)
    )
    latest = Window.partitionBy("client_id").orderBy(F.col("submission_date_s3").desc())
    sample = clients.withColumn("rn", F.row_number().over(latest)).where("rn = 1")
    addons = sample.select("locale", "client_id", F.explode("active_addons").alias("a")).where(
        (F.col("a.blocklisted") == False) & (F.col("a.type") == "extension") & (F.col("a.signed_state") == 2)  # noqa: E712
        & (F.col("a.user_disabled") == False) & (F.col("a.app_disabled") == False) & (F.col("a.is_system") == False)  # noqa: E712
        & (F.col("locale") != "null") & F.col("a.addon_id").isNotNull()
    ).select("locale", "client_id", F.col("a.addon_id").alias("addon")).cache()
    locales = sorted(r["locale"] for r in addons.select("locale").distinct().collect())
    pick = Window.partitionBy("client_id").orderBy(F.rand(a.seed))
    counts = (
        addons.where(F.col("addon").isin(whitelist))
        .withColumn("pick", F.row_number().over(pick)).where("pick = 1")
        .groupBy("locale", "addon").count().collect()
    )
    grid = {(r["locale"], r["addon"]): r["count"] for r in counts}

    noise = random.Random(a.seed)
    laplace = lambda scale: noise.expovariate(1 / scale) - noise.expovariate(1 / scale)
    result = {}
    for locale in locales:
        values = [float(grid.get((locale, guid), 0)) for guid in whitelist]
        if a.noise == "laplace":
            values = [v + laplace(1.0 / a.epsilon) for v in values]
        low = min(values)
        shifted = [v - low for v in values]
        total = sum(shifted)
        weights = [v / total if total > 0 else 0.0 for v in shifted]
        ranked = sorted(range(len(whitelist)), key=lambda i: (-weights[i], -i))[: a.num_addons]
        result[locale] = [[whitelist[i], weights[i]] for i in ranked]
    os.makedirs(a.output_root, exist_ok=True)
    with open(os.path.join(a.output_root, "top10_dict.json"), "w") as f:
        json.dump(result, f)
    print(json.dumps({"total": time.time() - start}))
    spark.stop()


if __name__ == "__main__":
    main()
