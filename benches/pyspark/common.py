"""What the PySpark ports share: the local[2] session every port uses."""

from pyspark.sql import SparkSession


def session(name):
    return (
        SparkSession.builder.master("local[2]")
        .appName(name)
        .config("spark.driver.memory", "12g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
