"""PySpark port of mozetl's taar_similarity (docs/jobs/taar-similarity.md) in
Spark 4: each Firefox release client's latest qualifying day from
`--date` - 90 days to `--date`, its valid whitelisted add-ons, Spark ML's
HashingTF, IDF and BisectingKMeans, the donor pool, within- and
across-cluster pairs scored with TAAR's client distance, and Spark mllib's
KernelDensity for the likelihood-ratio curves.

The donor draw, the pairing and the curve's points follow fletch's documented
fixes of the original (exactly --num-donors donors by largest remainder,
halves paired in a seeded order, exactly --num-pdf-points points), so both
outputs have the same shape; these steps work on about a thousand donors and
cost little next to selecting and clustering the clients.

Usage: taar_similarity.py --data-root R --output-root O --date YYYYMMDD
       [--num-clusters 20] [--num-donors 1000] [--kernel-bandwidth 0.35]
       [--num-pdf-points 1000] [--seed 42]
Writes O/donors.json, O/lr_curves.json and O/taar_similarity_clusters/
(client_id, prediction); prints one JSON line of timings.
"""

import datetime
import json
import os
import time
import zlib

from pyspark.ml.clustering import BisectingKMeans
from pyspark.ml.feature import IDF, HashingTF
from pyspark.mllib.stat import KernelDensity
from pyspark.sql import Window
from pyspark.sql import functions as F

from common import arguments, curated_whitelist, session

CATEGORICAL = ["city", "locale", "os"]
CONTINUOUS = ["subsession_hours_sum", "bookmark_count", "tab_open_count", "total_uri", "unique_tlds"]


def samples(clients, date_from, date):
    """get_samples: the latest qualifying day of each client, with the original's feature names."""
    rows = clients.where(
        F.col("client_id").isNotNull() & F.col("active_addons").isNotNull()
        & (F.size("active_addons") > 2) & (F.size("active_addons") < 100)
        & (F.col("channel") == "release") & (F.col("app_name") == "Firefox")
        & (F.col("submission_date_s3") >= date_from) & (F.col("submission_date_s3") <= date)
    ).select(
        "client_id", "active_addons", "city", F.col("subsession_hours_sum").cast("double").alias("subsession_hours_sum"),
        "locale", "os", F.col("places_bookmarks_count_mean").alias("bookmark_count"),
        F.col("scalar_parent_browser_engagement_tab_open_event_count_sum").alias("tab_open_count"),
        F.col("scalar_parent_browser_engagement_total_uri_count_sum").alias("total_uri"),
        F.col("scalar_parent_browser_engagement_unique_domains_count_mean").alias("unique_tlds"),
        "submission_date_s3",
    )
    latest = Window.partitionBy("client_id").orderBy(F.col("submission_date_s3").desc())
    return rows.withColumn("rn", F.row_number().over(latest)).where("rn = 1").drop("rn", "submission_date_s3")


def addons_per_client(users, whitelist):
    """get_addons_per_client: valid whitelisted guids in list order, clients with 3 or more."""
    listed = F.array(*[F.lit(g) for g in whitelist])
    off = lambda a, name: ~F.coalesce(a[name], F.lit(False))
    valid = lambda a: (off(a, "is_system") & off(a, "app_disabled") & off(a, "user_disabled") & off(a, "foreign_install")
                       & (a["type"] == "extension") & F.array_contains(listed, a["addon_id"]))
    guids = F.transform(F.filter("active_addons", valid), lambda a: a["addon_id"])
    return users.select("client_id", guids.alias("addon_ids")).where(F.size("addon_ids") > 2)


def quotas(sizes, donors):
    """Each cluster's donors: its share of `donors` by largest remainder (fletch's quotas)."""
    total = sum(sizes)
    if total <= donors:
        return list(sizes)
    out = [donors * n // total for n in sizes]
    order = sorted(range(len(sizes)), key=lambda c: (-(donors * sizes[c] % total), c))
    for c in order[: donors - sum(out)]:
        out[c] += 1
    return out


def distance(x, y):
    """TAAR's compute_clients_dist: (canberra(continuous) + 0.001) * hamming(categorical)."""
    cat = lambda r: [r[f] if r[f] is not None else "" for f in CATEGORICAL]
    cont = lambda r: [float(r[f]) if r[f] is not None else 0.0 for f in CONTINUOUS]
    hamming = sum(a != b for a, b in zip(cat(x), cat(y))) / len(CATEGORICAL)
    canberra = sum(abs(a - b) / (abs(a) + abs(b)) for a, b in zip(cont(x), cont(y)) if abs(a) + abs(b) > 0)
    return abs((canberra + 0.001) * hamming)


def pair_scores(donors, seed):
    """Within a cluster, its donors in a seeded order 1st with 2nd, 3rd with 4th, ...;
    across, the i-th of them with the i-th of the other clusters' donors in a seeded order."""
    order = lambda rows, tag: sorted(rows, key=lambda r: (zlib.crc32(f"{seed}/{tag}/{r['client_id']}".encode()), r["client_id"]))
    by_cluster = {}
    for d in donors:
        by_cluster.setdefault(d["prediction"], []).append(d)
    intra, inter = [], []
    for c, rows in sorted(by_cluster.items()):
        own = order(rows, "own")
        intra += [distance(own[i], own[i + 1]) for i in range(0, len(own) - 1, 2)]
        others = order([d for d in donors if d["prediction"] != c], f"other/{c}")
        inter += [distance(a, b) for a, b in zip(own, others)]
    return intra, inter


def main():
    p = arguments()
    p.add_argument("--date", required=True)
    p.add_argument("--num-clusters", type=int, default=20)
    p.add_argument("--num-donors", type=int, default=1000)
    p.add_argument("--kernel-bandwidth", type=float, default=0.35)
    p.add_argument("--num-pdf-points", type=int, default=1000)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    spark = session("taar-similarity")
    start = time.time()
    whitelist = curated_whitelist(a.data_root)
    date_from = (datetime.datetime.strptime(a.date, "%Y%m%d").date() - datetime.timedelta(days=90)).strftime("%Y%m%d")

    users = samples(spark.read.parquet(f"{a.data_root}/clients_daily"), date_from, a.date).cache()
    addons = addons_per_client(users, whitelist).cache()
    addons.count()
    selected = time.time()

    tf = HashingTF(inputCol="addon_ids", outputCol="tf", numFeatures=1 << 18).transform(addons)
    tfidf = IDF(inputCol="tf", outputCol="features", minDocFreq=1).fit(tf).transform(tf)
    model = BisectingKMeans(k=a.num_clusters, seed=a.seed, featuresCol="features").fit(tfidf)
    clusters = model.transform(tfidf).select("client_id", "prediction").cache()
    clusters.write.parquet(os.path.join(a.output_root, "taar_similarity_clusters"))
    clustered = time.time()

    sizes = {r["prediction"]: r["count"] for r in clusters.groupBy("prediction").count().collect()}
    ids = sorted(sizes)
    quota = dict(zip(ids, quotas([sizes[c] for c in ids], a.num_donors)))
    pick = Window.partitionBy("prediction").orderBy(F.xxhash64(F.lit(a.seed), "client_id"), "client_id")
    quota_col = F.create_map(*[x for c in ids for x in (F.lit(c), F.lit(quota[c]))])
    picked = clusters.withColumn("pick", F.row_number().over(pick)).where(F.col("pick") <= quota_col[F.col("prediction")])
    donors = [
        r.asDict()
        for r in picked.join(users.drop("active_addons"), "client_id").join(addons, "client_id")
        .withColumnRenamed("addon_ids", "active_addons").collect()
    ]
    donors_json = [{k: d[k] for k in CATEGORICAL + CONTINUOUS + ["active_addons"]} for d in donors]

    intra, inter = pair_scores(donors, a.seed)
    scores = intra + inter
    lo, hi = min(scores), max(scores)
    if hi <= lo:
        hi = lo + a.kernel_bandwidth
    delta = (lo + (hi - lo) / a.num_pdf_points) - lo
    grid = [lo + i * delta for i in range(a.num_pdf_points)]
    def density(sample):
        kde = KernelDensity()
        kde.setSample(spark.sparkContext.parallelize(sample, 2))
        kde.setBandwidth(a.kernel_bandwidth)
        return kde.estimate(grid)

    numerator, denominator = density(intra or inter), density(inter or intra)
    curves = [[x, [float(n), float(d)]] for x, n, d in zip(grid, numerator, denominator)]

    with open(os.path.join(a.output_root, "donors.json"), "w") as f:
        json.dump(donors_json, f)
    with open(os.path.join(a.output_root, "lr_curves.json"), "w") as f:
        json.dump(curves, f)
    done = time.time()
    print(json.dumps({"select": selected - start, "cluster": clustered - selected, "donors_curves": done - clustered,
                      "total": done - start}))
    spark.stop()


if __name__ == "__main__":
    main()
