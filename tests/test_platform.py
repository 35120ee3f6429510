"""The real stack: Spark local mode with Delta, and the S3 protocol through moto's server,
reached by both boto3 and Spark's S3A."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import threading
import uuid

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from glue_labeling.contract import ConcurrentRunsExceededException
from glue_labeling.ledger import TaskRunLedger, utc_now
from glue_labeling.settings import Settings
from glue_labeling.spark import class_archive, release_checkpoint


def _bucket(s3) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def test_boto3_and_s3a_see_the_same_objects(spark, s3) -> None:
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="in/people.csv", Body=b"id,name\n1,Ann\n2,Bo\n")
    read = spark.read.option("header", "true").csv(f"s3a://{bucket}/in/")
    assert sorted(r.name for r in read.collect()) == ["Ann", "Bo"]

    read.withColumn("upper", F.upper("name")).write.mode("overwrite").parquet(f"s3a://{bucket}/out/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]]
    assert any(key.endswith(".parquet") for key in keys)
    assert "out/_SUCCESS" in keys


def test_s3a_delete_and_rename_reach_the_server(spark, s3) -> None:
    bucket = _bucket(s3)
    spark.range(10).write.csv(f"s3a://{bucket}/a/")
    jvm_path = spark._jvm.org.apache.hadoop.fs.Path
    fs = jvm_path(f"s3a://{bucket}/").getFileSystem(spark._jsc.hadoopConfiguration())
    assert fs.rename(jvm_path(f"s3a://{bucket}/a"), jvm_path(f"s3a://{bucket}/b"))
    assert s3.list_objects_v2(Bucket=bucket, Prefix="a/")["KeyCount"] == 0
    assert fs.delete(jvm_path(f"s3a://{bucket}/b"), True)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delta_table_round_trip_local_and_s3(spark, s3, tmp_path) -> None:
    frame = spark.createDataFrame([(1, "a"), (2, "b")], "id long, value string")
    for location in (str(tmp_path / "delta"), f"s3a://{_bucket(s3)}/delta/t"):
        frame.write.format("delta").save(location)
        frame.where("id = 2").write.format("delta").mode("append").save(location)
        read = spark.read.format("delta").load(location).orderBy("id")
        expected = spark.createDataFrame([(1, "a"), (2, "b"), (2, "b")], "id long, value string")
        assert_df_equality(read, expected)
        assert spark.sql(f"DESCRIBE HISTORY delta.`{location}`").count() == 2


def test_spark_sql_reads_the_ledger_written_without_a_jvm(spark, settings) -> None:
    ledger = TaskRunLedger(settings)
    now = utc_now()
    ledger.admit(
        {
            "task_run_id": "tsk-1",
            "transform_id": "tfm-1",
            "task_type": "LABELING_SET_GENERATION",
            "status": "STARTING",
            "started_on": now,
            "last_modified_on": now,
            "timeout_minutes": 5,
        },
        limit=3,
        launch=lambda: "handle",
    )
    assert ledger.transition("tsk-1", "RUNNING")
    rows = spark.read.format("delta").load(ledger.uri).select("task_run_id", "status").collect()
    assert [(r.task_run_id, r.status) for r in rows] == [("tsk-1", "RUNNING")]


def test_the_ledger_can_live_on_s3(spark, s3, settings) -> None:
    bucket = _bucket(s3)
    on_s3 = dataclasses.replace(settings, ledger_uri=f"s3a://{bucket}/control/task_runs")
    ledger = TaskRunLedger(on_s3)
    now = utc_now()
    run = {
        "transform_id": "tfm-1",
        "task_type": "LABELING_SET_GENERATION",
        "status": "STARTING",
        "started_on": now,
        "last_modified_on": now,
        "timeout_minutes": 5,
    }
    for index in range(3):
        ledger.admit({**run, "task_run_id": f"tsk-{index}"}, limit=3, launch=lambda: "handle")
    with pytest.raises(ConcurrentRunsExceededException):
        ledger.admit({**run, "task_run_id": "tsk-3"}, limit=3, launch=lambda: "handle")
    assert ledger.transition("tsk-0", "RUNNING")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="control/task_runs/_delta_log/")["Contents"]]
    assert "control/task_runs/_delta_log/00000000000000000000.json" in keys
    rows = spark.read.format("delta").load(f"s3a://{bucket}/control/task_runs").orderBy("task_run_id").collect()
    assert [(r.task_run_id, r.status) for r in rows] == [
        ("tsk-0", "RUNNING"),
        ("tsk-1", "STARTING"),
        ("tsk-2", "STARTING"),
    ]


def test_release_checkpoint_frees_what_unpersist_leaves(spark) -> None:
    def held() -> set[int]:
        return {info.id() for info in spark.sparkContext._jsc.sc().getRDDStorageInfo()}

    before = held()
    checkpointed = spark.range(1000).withColumn("twice", F.col("id") * 2).localCheckpoint()
    assert len(held() - before) == 1
    checkpointed.unpersist()
    assert len(held() - before) == 1  # what release_checkpoint is for
    release_checkpoint(checkpointed)
    assert held() - before == set()
    with pytest.raises(TypeError, match="not a local checkpoint"):
        release_checkpoint(spark.range(3).withColumn("one", F.lit(1)))


def test_the_local_driver_heap_is_committed_whole_from_the_start(spark, base_settings) -> None:
    """-Xms reaches the JVM: the heap does not grow by full collections as the run fills it."""
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    gigabytes = int(base_settings.spark_driver_memory.removesuffix("g"))
    assert runtime.totalMemory() >= 0.9 * gigabytes * 1024**3


def test_the_local_driver_sorts_in_pages_outside_the_heap(spark, base_settings) -> None:
    """Spark's execution memory (sorts, aggregations, joins) is off the heap, sized by the
    setting (local_spark_conf: pages on the heap were promoted by young collections)."""
    memory = spark.sparkContext._jsc.sc().env().memoryManager()
    assert memory.tungstenMemoryMode().toString() == "OFF_HEAP"
    gigabytes = int(base_settings.spark_off_heap_memory.removesuffix("g"))
    # The off-heap pool: what storage may take plus what execution holds.
    assert memory.maxOffHeapStorageMemory() + memory.offHeapExecutionMemoryUsed() == gigabytes * 1024**3


def test_the_local_driver_compiles_only_hot_code_with_c2(spark) -> None:
    """The raised C2 thresholds reach the JVM (local_spark_conf: the classes a query generates
    are new code to the JIT, and compiling all of it competed with the tasks for two cores)."""
    jvm = spark.sparkContext._jvm
    hotspot = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    assert hotspot.getVMOption("Tier4InvocationThreshold").getValue() == "50000"
    assert hotspot.getVMOption("Tier4BackEdgeThreshold").getValue() == "400000"


def test_the_local_session_keeps_the_classes_it_generated(spark) -> None:
    """A query generated 110 queries ago is not compiled again (local_spark_conf: a run generates
    more classes than Spark's default 100 kept, and each one compiled again is new code for the
    JIT as well)."""
    compilations = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    numbers = spark.range(2)

    def generate(factor: int) -> None:
        # An int literal is written into the code. Making the plan's RDD compiles its one
        # generated class, without running a job.
        numbers.select(F.col("id") * factor)._jdf.queryExecution().toRdd()

    for factor in range(110):
        generate(factor)
    compiled = compilations.getCount()
    generate(0)
    assert compilations.getCount() == compiled
    generate(110)  # a query never seen is compiled: the count does move
    assert compilations.getCount() == compiled + 1


def test_the_local_session_builds_columns_without_recording_python_call_sites(
    spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    """local_spark_conf turns off PySpark 4's record of the Python line behind every Column and
    DataFrame call, which cost five calls to the JVM each (Spark 3.5 makes none to begin with)."""
    from py4j.clientserver import ClientServerConnection
    from py4j.protocol import MEMORY_COMMAND_NAME

    def build() -> None:
        F.col("a") + F.lit(1)  # three calls of PySpark's API: 27 calls to the JVM with the record

    build()  # the first time, py4j looks up the classes too
    sent = []
    send = ClientServerConnection.send_command
    builder = threading.get_ident()

    def counted(self, command: str) -> str:
        # Only this thread's calls and lookups. Other threads' commands and py4j's memory
        # commands (which release JVM objects that earlier tests left to the collectors) are
        # not the build's: counting every command, full runs once saw 22 and once 18 where
        # the build alone sends 7.
        if threading.get_ident() == builder and not command.startswith(MEMORY_COMMAND_NAME):
            sent.append(command)
        return send(self, command)

    monkeypatch.setattr(ClientServerConnection, "send_command", counted)
    build()
    assert 0 < len(sent) <= 9


def test_the_local_driver_maps_spark_s_classes_from_the_archive_setup_built(spark, base_settings: Settings) -> None:
    """scripts/setup.sh built the class-data-sharing archive, and the session's JVM started from
    it: HotSpot's counters (jcmd) show thousands of classes loaded from shared archives, where
    the JDK's own archive alone gives about 1,200."""
    assert class_archive(base_settings).exists()
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    counters = subprocess.run(
        ["jcmd", str(pid), "PerfCounter.print"], capture_output=True, text=True, check=True
    ).stdout
    shared = int(re.search(r"^java\.cls\.sharedLoadedClasses=(\d+)$", counters, re.MULTILINE).group(1))
    assert shared > 5000
