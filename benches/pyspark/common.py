"""What the PySpark ports share: their common flags, the local[2] session
every port uses, and TAAR's curated whitelist."""

import argparse
import json

from pyspark.sql import SparkSession


def arguments():
    """A parser with the flags of every port: --data-root and --output-root."""
    p = argparse.ArgumentParser()
    p.add_argument("--data-root", required=True)
    p.add_argument("--output-root", required=True)
    return p


def session(name):
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(name)
        .config("spark.driver.memory", "12g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def curated_whitelist(data_root):
    """The guids of only_guids_top_200.json, as fletch's TAAR jobs read them."""
    with open(f"{data_root}/telemetry-ml/addon_recommender/only_guids_top_200.json") as f:
        return json.load(f)
