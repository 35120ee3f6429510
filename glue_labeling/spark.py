"""The SparkSession factory.

Locally: a local-mode session with Delta's SQL extension and catalog, the jars that
scripts/setup.sh cached (never fetched at run time), S3A pointed at the configured endpoint,
the UI off and few shuffle partitions. Under spark-submit, on EMR or in Glue (the launcher
hands the process a configured JVM) the session and configuration are used untouched.

pyspark is imported only when a session is wanted, so the control plane, which builds
spark-submit command lines from `local_spark_conf`, starts without it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from glue_labeling.settings import Settings, load_settings

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


# Generated classes kept (spark.sql.codegen.cache.maxEntries): a run generates a few hundred.
GENERATED_CLASSES_KEPT = 5000

# Settings of every session the jobs run in: the local one (local_spark_conf) and, through
# spark-submit, those of the EMR, EMR Serverless and Glue launchers (a static setting cannot
# be changed once the session exists).
JOB_SPARK_CONF = {
    # Every class Spark generates for a query is kept for the next query that generates the
    # same code, where Spark keeps 100: a run generates over 200 (234 for 100k generated
    # records), so with 100 a second run compiled them all again, and the JIT compiled that
    # new code again beside the tasks. 1M records twice in one JVM: the second run 44.7 and
    # 44.8 s against 54.1 and 53.2 s (the first 63.5 and 62.3 s against 67.1 and 64.5 s). A
    # 1M run after a 100k run, the scale benchmark's order: 51.1 and 49.1 s against 53.2 and
    # 52.7 s (59 classes compiled instead of 218: those whose constants or columns differ
    # with the data).
    "spark.sql.codegen.cache.maxEntries": str(GENERATED_CLASSES_KEPT),
    # PySpark 4 records the Python line of every DataFrame and Column call in the JVM, for
    # error messages: five calls to the JVM around each, 19,544 in a 1M-record run. Without
    # it, 1M generated records in one warm JVM, alternating: 58.9 and 58.9 s against 63.4 s;
    # 100k: 19.5, 16.0 and 18.6 s against 22.6, 20.3 and 19.4 s. Spark 3.5 has no such
    # setting and ignores it.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


def cached_jars(settings: Settings) -> list[str]:
    jars_dir = Path(settings.jars_dir)
    jars = sorted(str(jar) for jar in jars_dir.glob("*.jar"))
    if not any("delta-spark" in Path(jar).name for jar in jars):
        raise RuntimeError(
            f"No Delta jars in {jars_dir}: run scripts/setup.sh once (it fetches them from Maven Central)"
        )
    return jars


def class_archive(settings: Settings) -> Path:
    """The class-data-sharing archive of the installed Spark's classes, which
    scripts/build_class_archive.py builds once at set-up and local JVMs start from."""
    return Path(settings.jars_dir) / f"spark-{importlib.metadata.version('pyspark')}-classes.jsa"


def class_archive_options(settings: Settings) -> list[str]:
    """The JVM options that map the archive's classes, if set-up built it. HotSpot's warnings go
    to stderr, not stdout (where the CLI writes JSON): a JVM the archive does not fit (another
    JDK) says so and starts without it."""
    archive = class_archive(settings)
    if not archive.exists():
        return []
    return [f"-XX:SharedArchiveFile={archive}", "-Xlog:disable", "-Xlog:all=warning:stderr"]


def local_spark_conf(settings: Settings) -> dict[str, str]:
    conf = {
        "spark.master": settings.spark_master,
        "spark.jars": ",".join(cached_jars(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.driver.memory": settings.spark_driver_memory,
        # Spark's sort, aggregation and join pages outside the heap. On the heap, a page a task
        # still held at a young collection was copied into the old generation, and the first
        # write to each page of memory the process had not used yet costs the kernel about 1 s
        # a gigabyte on this kind of machine (a VM): the job that compares the 5.8M pairs of 1M
        # generated records, whose blocks are sorted in such pages, paused 3-4 s for young
        # collections that spent more time in the kernel than copying. 100k then 1M records
        # in one JVM, four times alternating: 1M 41.9-45.5 s against 44.0-54.6 s, the
        # collections' pauses 2.2-3.8 s against 5.5-6.4 s.
        "spark.memory.offHeap.enabled": "true",
        "spark.memory.offHeap.size": settings.spark_off_heap_memory,
        # A batch job wants throughput, not short pauses: with the parallel collector instead of
        # G1, 1M generated records took 108 s against 123 s to a labeling set (4 GB driver).
        # The heap is committed whole from the start (-Xms): growing it, the collector ran a full
        # collection each time the old generation filled its current size (11-12 a run at 1M
        # records, 3.7-4.2 s of pauses, against 2 and 2.0-2.1 s), and the class metadata's first
        # growth steps cost four more.
        # The optimizing compiler (C2) waits for ten times the default calls and loop turns: each
        # query's generated classes are new code (and were made again by the next run, as the
        # cache of them below was too small), and a second 1M-record run in a warm JVM kept
        # the compiler threads busy for 31 s of CPU beside the two task threads on two cores
        # (-XX:+CITime); over two such runs the compilers took 56 s against 91-97 s. Side by side,
        # alternating, a 100k then a 1M run in one JVM: 33.2 / 56.5 s and 29.2 / 53.7 s against
        # 33.1 / 58.1 s and 31.3 / 55.2 s. Without C2 at all (C1 only) the 1M run took 98 s.
        "spark.driver.extraJavaOptions": " ".join(
            [
                f"-XX:+UseParallelGC -Xms{settings.spark_driver_memory} -XX:MetaspaceSize=256m",
                "-XX:Tier4InvocationThreshold=50000 -XX:Tier4MinInvocationThreshold=6000",
                "-XX:Tier4CompileThreshold=150000 -XX:Tier4BackEdgeThreshold=400000",
                *class_archive_options(settings),
            ]
        ),
        **JOB_SPARK_CONF,
        # Cached frames (the input, its normalized columns, the band keys) kept uncompressed:
        # building each string column's dictionary was 5% of the 1M run's executor time, and
        # the load and profile stages took 6.7-8.1 s and 5.4-6.2 s against 9.0-10.9 s and 7.3-7.7 s
        # compressed (two alternating runs). They spill to disk when memory runs short.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": str(Path(settings.state_dir) / "warehouse"),
        # Delta's default LogStore is only safe for one writer per table on S3; the labeling
        # output is written once per task run, so that holds. The ledger is written by the
        # control plane (deltalake), not by Spark.
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }
    if settings.s3_endpoint:
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
                "spark.hadoop.fs.s3a.endpoint.region": settings.s3_region,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(settings.s3_endpoint.startswith("https")).lower(),
                "spark.hadoop.fs.s3a.access.key": settings.s3_access_key,
                "spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key,
                "spark.hadoop.fs.s3a.aws.credentials.provider": (
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
                ),
                # A local server has no ETag/version semantics to police.
                "spark.hadoop.fs.s3a.change.detection.mode": "none",
            }
        )
    return conf


def configured_by_launcher() -> bool:
    """True when spark-submit, EMR or Glue started this Python process (they hand it a JVM
    gateway whose configuration is final) or a session already exists."""
    from pyspark.sql import SparkSession

    return "PYSPARK_GATEWAY_PORT" in os.environ or SparkSession.getActiveSession() is not None


def get_or_create_session(settings: Settings | None = None, app_name: str = "glue-labeling") -> SparkSession:
    from pyspark.sql import SparkSession

    if configured_by_launcher():
        return SparkSession.builder.getOrCreate()
    return local_session(local_spark_conf(settings or load_settings()), app_name)


def local_session(conf: dict[str, str], app_name: str) -> SparkSession:
    """A session whose JVM this process starts, configured by `conf` (local_spark_conf)."""
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (the venv with numpy and pandas),
    # not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


@contextlib.contextmanager
def sql_conf(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    """The SQL setting `key` at `value` while the block runs, then back to what it was: the
    session may be the caller's own (FindMatches.apply)."""
    before = spark.conf.get(key)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        spark.conf.set(key, before)


def driver_frame(spark: SparkSession, data: pd.DataFrame, schema: str | StructType) -> DataFrame:
    """A DataFrame of what the driver holds, sent to Spark as Arrow columns. From Python rows,
    Spark pickles them and starts Python workers to read them back: 150 rows took 0.7-0.85 s to
    cache and count against 0.22-0.3 s through Arrow, and 3.5 s when the workers first started."""
    with sql_conf(spark, "spark.sql.execution.arrow.pyspark.enabled", "true"):
        return spark.createDataFrame(data, schema)


def driver_pandas(frame: DataFrame) -> pd.DataFrame:
    """`frame` on the driver as Arrow columns, not a Python object per value: the 54,513
    distinct comparison vectors of 1M generated records took 1.6-1.9 s to count, collect as rows
    and read into numpy, against 0.9-1.1 s through Arrow (three times each, side by side)."""
    with sql_conf(frame.sparkSession, "spark.sql.execution.arrow.pyspark.enabled", "true"):
        return frame.toPandas()


def release_checkpoint(frame: DataFrame) -> None:
    """Free the rows of `frame`, as DataFrame.localCheckpoint() returned it, before the session
    ends. DataFrame.unpersist does not reach them: they are the blocks of the checkpointed RDD
    under the frame's plan (a LogicalRDD), not an entry of the cache manager. Classic Spark only,
    like the JVM functions (pipeline/jvm.py)."""
    plan = frame._jdf.queryExecution().logical()
    if plan.getClass().getSimpleName() != "LogicalRDD":
        raise TypeError(f"not a local checkpoint: the frame's plan is a {plan.getClass().getSimpleName()}")
    plan.rdd().unpersist(False)
