"""Builds the class-data-sharing archive local Spark JVMs start from (scripts/setup.sh runs it).

A local Spark JVM loads and verifies some ten thousand classes before it does any work. HotSpot's
class-data sharing maps them from an archive instead: with this one, a cold process at 100k
generated records started its session in 2.2-2.3 s against 4.1-4.2 s, read the table's metadata
in 0.6-0.7 s against 1.4 s and ran the job in 24.1-25.1 s against 25.8-26.0 s (two pairs,
alternating). Every local JVM starts cold: the test suite's session, the demo's, and each run
the local launcher starts with spark-submit.

The archive holds the classes one labeling-set run loads: a JVM started with
-XX:ArchiveClassesAtExit runs the job on 2,000 generated records and writes it when it exits.
It is named for the installed Spark (glue_labeling.spark.class_archive) and only valid for the
JDK that wrote it: another JDK ignores it, says so on stderr, and loads classes as usual.
A no-op when the archive exists. Usage: .venv/bin/python scripts/build_class_archive.py
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from generate_sample_data import generate
from pyspark.sql import SparkSession

from glue_labeling import spark as local_spark
from glue_labeling.catalog import LocalCatalog
from glue_labeling.pipeline.run import RunReport, generate_labeling_set
from glue_labeling.settings import load_settings

RECORDS = 2_000


def stop_and_wait_for_jvm(spark: SparkSession) -> None:
    """The JVM writes the archive as it exits, which it does when its stdin closes
    (PythonGatewayServer): wait for that, or the archive may be read before it is whole."""
    gateway = spark.sparkContext._gateway
    spark.stop()
    gateway.shutdown()
    gateway.proc.stdin.close()
    gateway.proc.wait()


def main() -> int:
    settings = load_settings()
    archive = local_spark.class_archive(settings)
    if archive.exists():
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="glue-labeling-classes-") as work:
        settings = dataclasses.replace(settings, state_dir=str(Path(work) / "state"))
        unfinished = archive.with_suffix(".jsa.partial")
        conf = local_spark.local_spark_conf(settings)
        options = conf["spark.driver.extraJavaOptions"]
        # Quiet: the classes it cannot archive (of signed jars, generated ones) are expected.
        conf["spark.driver.extraJavaOptions"] = (
            f"{options} -XX:ArchiveClassesAtExit={unfinished} -Xlog:disable -Xlog:all=error:stderr"
        )
        spark = local_spark.local_session(conf, "glue-labeling class archive")
        records, _truth = generate(spark, RECORDS, seed=1)
        location = str(Path(work) / "people")
        records.write.format("delta").save(location)
        catalog = LocalCatalog(settings)
        catalog.register(spark, "archive", "people", location, "delta")
        transform = {
            "InputRecordTables": [{"DatabaseName": "archive", "TableName": "people"}],
            "Parameters": {
                "TransformType": "FIND_MATCHES",
                "FindMatchesParameters": {"PrimaryKeyColumnName": "record_id"},
            },
        }
        generate_labeling_set(spark, transform, f"file://{work}/labeling-set", "archive", RunReport(), catalog)
        stop_and_wait_for_jvm(spark)
    if not unfinished.exists():
        print("build_class_archive: the JVM wrote no archive; local JVMs start without one", file=sys.stderr)
        return 0
    os.replace(unfinished, archive)  # whole or not at all: a JVM exiting mid-write leaves only the partial file
    print(f"build_class_archive: built {archive} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
