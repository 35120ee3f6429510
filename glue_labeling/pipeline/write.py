"""Write: the labeling set as UTF-8 CSV under OutputS3Path, one folder per labeling set.

Layout: <OutputS3Path>/<TaskRunId>/labeling_set=<id>/part-*.csv, each file with the header
`labeling_set_id,label,<input columns in input order>` and `label` empty, so each set can go
to a different labeler. The run is staged under <OutputS3Path>/_staging/<TaskRunId>/ and
moved into place only when complete, then `_SUCCESS` is written last: on a file system the
move is atomic; on S3 (where a move is copy + delete) `_SUCCESS` is the commit point readers
check. A re-run of the same TaskRunId replaces the earlier output.
"""

from __future__ import annotations

from py4j.java_gateway import JavaObject
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID

PARTITION_COLUMN = "labeling_set"


def labeling_set_rows(records: DataFrame, sets: DataFrame, data_columns: list[str]) -> DataFrame:
    """The CSV rows: labeling_set_id, an empty label, then every input column in input order."""
    return sets.join(records, RECORD_ID).select(
        "labeling_set_id",
        F.lit(None).cast("string").alias("label"),
        *[F.col(f"`{name}`") for name in data_columns],
        F.col("labeling_set_id").alias(PARTITION_COLUMN),
    )


def hadoop_uri(uri: str) -> str:
    """Spark reads s3:// through S3A locally only when told to; s3a:// always works."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def final_location(output_uri: str, task_run_id: str) -> str:
    return f"{hadoop_uri(output_uri).rstrip('/')}/{task_run_id}"


def staging_location(output_uri: str, task_run_id: str) -> str:
    return f"{hadoop_uri(output_uri).rstrip('/')}/_staging/{task_run_id}"


def _path(spark: SparkSession, uri: str) -> JavaObject:
    """A Hadoop Path: Hadoop's FileSystem (S3A, local) has no Python API, so py4j it is."""
    return spark._jvm.org.apache.hadoop.fs.Path(uri)


def _file_system(spark: SparkSession, uri: str) -> JavaObject:
    return _path(spark, uri).getFileSystem(spark._jsc.hadoopConfiguration())


def discard(spark: SparkSession, uri: str) -> None:
    _file_system(spark, uri).delete(_path(spark, uri), True)


def shown_keys(spark: SparkSession, locations: list[str], key: str) -> DataFrame | None:
    """The primary keys (as text) in the complete labeling sets at `locations`, earlier runs'
    output; locations without `_SUCCESS` (removed, or never finished) are skipped. None when
    there is nothing to read."""
    complete = [
        location for location in locations if _file_system(spark, location).exists(_path(spark, f"{location}/_SUCCESS"))
    ]
    if not complete:
        return None
    # Each location is its own partitioned folder (labeling_set=...); read together, Spark's
    # partition discovery refuses several roots, and only the key column is needed anyway.
    shown = (
        spark.read.option("header", "true")
        .option("encoding", "UTF-8")
        .option("recursiveFileLookup", "true")
        .csv(complete)
    )
    return shown.select(F.col(f"`{key}`").alias("key")).distinct()


def write_labeling_set(spark: SparkSession, rows: DataFrame, output_uri: str, task_run_id: str) -> str:
    staging, final = staging_location(output_uri, task_run_id), final_location(output_uri, task_run_id)
    discard(spark, staging)
    (
        rows.repartition(PARTITION_COLUMN)
        .sortWithinPartitions(PARTITION_COLUMN, rows.columns[2])
        .write.option("header", "true")
        .option("encoding", "UTF-8")
        .option("emptyValue", "")
        .partitionBy(PARTITION_COLUMN)
        .mode("errorifexists")
        .csv(staging)
    )
    file_system = _file_system(spark, final)
    marker = _path(spark, f"{staging}/_SUCCESS")
    if file_system.exists(marker):
        file_system.delete(marker, False)
    file_system.delete(_path(spark, final), True)
    file_system.mkdirs(_path(spark, final).getParent())
    if not file_system.rename(_path(spark, staging), _path(spark, final)):
        raise OSError(f"could not move {staging} to {final}")
    file_system.create(_path(spark, f"{final}/_SUCCESS"), True).close()
    return final
