"""PySpark ports of mozetl's taar_lite_guidranking and taar_lite_guidguid
(docs/jobs/taar-lite.md), in Spark 4's DataFrame API, over the window of
`--days` days ending on `--date` (submission_date_s3 after date - days, up to
date). guidguid keeps each client's latest qualifying day, as fletch does by
default (the original joined client-days with client-days).

Usage: taar_lite.py ranking|coinstallation --data-root R --output-root O --date YYYYMMDD
       [--days 28] [--whitelist FILE]
Writes O/guid_install_ranking.json or O/guid_coinstallation.json; prints one JSON line of timings.
"""

import datetime
import json
import os
import time

from pyspark.sql import Window
from pyspark.sql import functions as F

from common import arguments, session


def window(clients, date, days):
    end = datetime.datetime.strptime(date, "%Y%m%d").date()
    start = (end - datetime.timedelta(days=days)).strftime("%Y%m%d")
    return clients.where((F.col("submission_date_s3") > start) & (F.col("submission_date_s3") <= date))


def ranking(clients):
    rows = (
        clients.where((F.col("channel") == "release") & (F.col("app_name") == "Firefox") & (F.size("active_addons") > 0))
        .select(F.explode("active_addons").alias("a"))
        .groupBy(F.col("a.addon_id").alias("guid"))
        .count()
        .collect()
    )
    return {r["guid"]: r["count"] for r in rows if r["guid"] is not None}


def whitelist_guids(path):
    """Guids of the AMO whitelist dump with any WebExtension file (load_amo_external_whitelist)."""
    with open(path) as f:
        dump = json.load(f)
    return [r["guid"] for r in dump.values() if any(f.get("is_webextension") for f in r["current_version"]["files"])]


def coinstallation(clients, whitelist):
    sample = clients.where(
        F.col("active_addons").isNotNull() & (F.size("active_addons") > 1) & (F.col("channel") == "release")
        & (F.col("normalized_channel") == "release") & (F.col("app_name") == "Firefox") & F.col("client_id").isNotNull()
    )
    latest = Window.partitionBy("client_id").orderBy(F.col("submission_date_s3").desc())
    sample = sample.withColumn("n", F.row_number().over(latest)).where("n = 1")
    flag = lambda name: ~F.coalesce(F.col(f"a.{name}"), F.lit(False))
    valid = (
        sample.select("client_id", F.posexplode("active_addons").alias("pos", "a"))
        .where(flag("is_system") & flag("app_disabled") & flag("user_disabled") & flag("foreign_install")
               & (F.col("a.type") == "extension") & F.col("a.addon_id").isin(whitelist)
               & (F.col("a.addon_id") != "pioneer-opt-in@mozilla.org"))
        .select("client_id", "pos", F.col("a.addon_id").alias("guid"))
    )
    # Pairs of positions, as the original's itertools.permutations of the client's list.
    pairs = valid.alias("x").join(valid.alias("y"), "client_id").where(F.col("x.pos") != F.col("y.pos"))
    rows = pairs.groupBy(F.col("x.guid").alias("key"), F.col("y.guid").alias("other")).count().collect()
    out = {}
    for r in rows:
        out.setdefault(r["key"], {})[r["other"]] = r["count"]
    return out


def main():
    p = arguments()
    p.add_argument("job", choices=["ranking", "coinstallation"])
    p.add_argument("--date", required=True)
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--whitelist")
    a = p.parse_args()
    spark = session(f"taar-lite-{a.job}")
    start = time.time()
    clients = window(spark.read.parquet(f"{a.data_root}/clients_daily"), a.date, a.days)
    if a.job == "ranking":
        name, value = "guid_install_ranking.json", ranking(clients)
    else:
        path = a.whitelist or f"{a.data_root}/telemetry-ml/addon_recommender/whitelist_addons_database.json"
        name, value = "guid_coinstallation.json", coinstallation(clients, whitelist_guids(path))
    os.makedirs(a.output_root, exist_ok=True)
    with open(os.path.join(a.output_root, name), "w") as f:
        json.dump(value, f)
    print(json.dumps({"total": time.time() - start}))
    spark.stop()


if __name__ == "__main__":
    main()
