"""End to end with real spark-submit'ed jobs: the CLI path to a labeling set, and the run
lifecycle (cancel, a killed job, timeout). Slow: each case starts a Spark JVM."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from glue_labeling.client import GlueLabelingClient
from glue_labeling.ledger import ACTIVE_STATUSES, FINAL_STATUSES
from glue_labeling.settings import PROJECT_ROOT, Settings

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from generate_sample_data import generate

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "glue-labeling")


@pytest.fixture
def people_table(spark, settings: Settings, tmp_path: Path) -> str:
    records, _truth = generate(spark, 600, seed=7)
    location = str(tmp_path / "people")
    records.write.parquet(location)
    return location


def _cli(settings: Settings, *args: str) -> dict:
    completed = subprocess.run(
        [CLI, *args], capture_output=True, text=True, env={**os.environ, **settings.to_environment()}, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def _create_transform(client: GlueLabelingClient, settings: Settings, spark, location: str) -> str:
    client.service.catalog.register(spark, "e2e", "people", location, "parquet")
    return client.create_ml_transform(
        Name="people",
        InputRecordTables=[{"DatabaseName": "e2e", "TableName": "people"}],
        Parameters={"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": "record_id"}},
        Role="local",
    )["TransformId"]


def _wait(client: GlueLabelingClient, transform_id: str, run_id: str, until: set[str], seconds: float = 240) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = client.get_ml_task_run(TransformId=transform_id, TaskRunId=run_id)
        if run["Status"] in until:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not reach {until}; last: {run}")


def test_cli_generates_a_labeling_set(spark, settings: Settings, people_table: str, tmp_path: Path) -> None:
    registered = _cli(
        settings,
        "register-table",
        "--database-name",
        "e2e",
        "--table-name",
        "people",
        "--location",
        people_table,
        "--format",
        "parquet",
    )
    assert registered["qualified_name"] == "e2e.people"
    transform_id = _cli(
        settings,
        "create-ml-transform",
        "--name",
        "people",
        "--role",
        "local",
        "--input-record-tables",
        '[{"DatabaseName": "e2e", "TableName": "people"}]',
        "--parameters",
        '{"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": "record_id"}}',
    )["TransformId"]
    output = f"file://{tmp_path / 'out'}"
    run_id = _cli(
        settings,
        "start-ml-labeling-set-generation-task-run",
        "--transform-id",
        transform_id,
        "--output-s3-path",
        output,
    )["TaskRunId"]
    completed = subprocess.run(
        [CLI, "wait-ml-task-run", "--transform-id", transform_id, "--task-run-id", run_id, "--poll-seconds", "0.5"],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.to_environment()},
        timeout=400,
    )
    log = Path(settings.logs_dir / f"{run_id}.log")
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:] + log.read_text()[-3000:]
    statuses = [json.loads(line)["Status"] for line in completed.stdout.splitlines() if line.startswith('{"TaskRunId"')]
    assert statuses[-1] == "SUCCEEDED" and "RUNNING" in statuses

    final = tmp_path / "out" / run_id
    assert (final / "_SUCCESS").exists() and not (tmp_path / "out" / "_staging" / run_id).exists()
    files = sorted(final.glob("labeling_set=*/*.csv"))
    rows = [row for path in files for row in csv.DictReader(path.open(encoding="utf-8"))]
    header = next(csv.reader(files[0].open(encoding="utf-8")))
    assert header[:3] == ["labeling_set_id", "label", "record_id"] and header[-1] == "email"
    sets = {row["labeling_set_id"] for row in rows}
    assert 5 <= len(sets) <= 10 and len(files) == len(sets)
    assert all(row["label"] == "" for row in rows)
    assert len({row["record_id"] for row in rows}) == len(rows), "a record appears twice in one run"
    ledger_row = GlueLabelingClient(settings).service.ledger.get(run_id)
    assert ledger_row["records_read"] == 600 and ledger_row["candidate_pairs"] > 0
    assert ledger_row["labeling_sets_written"] == len(sets)


def test_cancel_stops_the_job_and_leaves_no_output(
    spark, settings: Settings, people_table: str, tmp_path: Path
) -> None:
    client = GlueLabelingClient(settings)
    transform_id = _create_transform(client, settings, spark, people_table)
    run_id = client.start_ml_labeling_set_generation_task_run(
        TransformId=transform_id, OutputS3Path=f"file://{tmp_path / 'out'}"
    )["TaskRunId"]
    _wait(client, transform_id, run_id, {"RUNNING"} | FINAL_STATUSES)
    cancelled = client.cancel_ml_task_run(TransformId=transform_id, TaskRunId=run_id)
    assert cancelled["Status"] in {"STOPPING", "STOPPED"}
    run = _wait(client, transform_id, run_id, FINAL_STATUSES, seconds=60)
    assert run["Status"] == "STOPPED" and "CompletedOn" in run
    handle = client.service.ledger.get(run_id)["launcher_handle"]
    assert client.service.launcher.is_alive(handle) is False
    assert not (tmp_path / "out" / run_id).exists()


def test_a_killed_job_is_marked_failed(spark, settings: Settings, people_table: str, tmp_path: Path) -> None:
    client = GlueLabelingClient(settings)
    transform_id = _create_transform(client, settings, spark, people_table)
    run_id = client.start_ml_labeling_set_generation_task_run(
        TransformId=transform_id, OutputS3Path=f"file://{tmp_path / 'out'}"
    )["TaskRunId"]
    _wait(client, transform_id, run_id, {"RUNNING"} | FINAL_STATUSES)
    pid = int(client.service.ledger.get(run_id)["launcher_handle"].rsplit(":", 2)[1])
    os.killpg(pid, signal.SIGKILL)
    run = _wait(client, transform_id, run_id, FINAL_STATUSES, seconds=30)
    assert run["Status"] == "FAILED"
    assert "ended without reporting a final status" in run["ErrorString"]
    assert not (tmp_path / "out" / run_id).exists()


def test_a_run_past_its_timeout_becomes_timeout(spark, settings: Settings, people_table: str, tmp_path: Path) -> None:
    client = GlueLabelingClient(settings)
    transform_id = _create_transform(client, settings, spark, people_table)
    client.update_ml_transform(TransformId=transform_id, Timeout=1)
    run_id = client.start_ml_labeling_set_generation_task_run(
        TransformId=transform_id, OutputS3Path=f"file://{tmp_path / 'out'}"
    )["TaskRunId"]
    ledger = client.service.ledger
    # Age the run past its 1-minute Timeout rather than sleeping through it.
    ledger.record(run_id, started_on=ledger.get(run_id)["started_on"] - dt.timedelta(minutes=2))
    run = client.get_ml_task_run(TransformId=transform_id, TaskRunId=run_id)
    assert run["Status"] == "TIMEOUT" and "Timeout of 1 minutes" in run["ErrorString"]
    handle = ledger.get(run_id)["launcher_handle"]
    deadline = time.monotonic() + 10
    while client.service.launcher.is_alive(handle) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.service.launcher.is_alive(handle) is False
    assert all(r["status"] not in ACTIVE_STATUSES for r in ledger.runs_of(transform_id))


def _cli_wait(settings: Settings, transform_id: str, run_id: str) -> dict:
    """`wait-ml-task-run` until the run ends; its final GetMLTaskRun answer."""
    completed = subprocess.run(
        [CLI, "wait-ml-task-run", "--transform-id", transform_id, "--task-run-id", run_id, "--poll-seconds", "0.5"],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.to_environment()},
        timeout=400,
    )
    final = json.loads(completed.stdout[completed.stdout.index('{\n    "TransformId"') :])
    log = Path(settings.logs_dir / f"{run_id}.log")
    assert final["Status"] == "SUCCEEDED", final.get("ErrorString", "") + log.read_text()[-3000:]
    return final


def test_cli_imports_and_exports_labels(spark, settings: Settings, people_table: str, tmp_path: Path) -> None:
    """Both label jobs spark-submit'ed by the CLI: import a labeled file, export it again."""
    client = GlueLabelingClient(settings)
    transform_id = _create_transform(client, settings, spark, people_table)
    ids = [row["record_id"] for row in spark.read.parquet(people_table).orderBy("record_id").limit(5).collect()]
    labels = tmp_path / "labels.csv"
    answers = (("s1", "A"), ("s1", "A"), ("s1", "B"), ("s2", "x"), ("s2", "y"))
    labels.write_text(
        "labeling_set_id,label,record_id\n"
        + "".join(f"{set_id},{label},{key}\n" for (set_id, label), key in zip(answers, ids, strict=True))
    )
    import_id = _cli(
        settings,
        "start-import-labels-task-run",
        "--transform-id",
        transform_id,
        "--input-s3-path",
        f"file://{labels}",
        "--replace-all-labels",
    )["TaskRunId"]
    assert _cli_wait(settings, transform_id, import_id)["Properties"]["TaskType"] == "IMPORT_LABELS"
    assert client.get_ml_transform(TransformId=transform_id)["LabelCount"] == 4

    export_id = _cli(
        settings,
        "start-export-labels-task-run",
        "--transform-id",
        transform_id,
        "--output-s3-path",
        f"file://{tmp_path / 'export'}",
    )["TaskRunId"]
    _cli_wait(settings, transform_id, export_id)
    final = tmp_path / "export" / export_id
    assert (final / "_SUCCESS").exists()
    rows = [row for path in sorted(final.glob("labeling_set=*/*.csv")) for row in csv.DictReader(path.open())]
    assert sorted((row["labeling_set_id"], row["label"], row["record_id"]) for row in rows) == [
        ("s1", "A", ids[0]),
        ("s1", "A", ids[1]),
        ("s1", "B", ids[2]),
        ("s2", "x", ids[3]),
        ("s2", "y", ids[4]),
    ]
    # The data columns come from the input table.
    source = spark.read.parquet(people_table).where(F.col("record_id").isin(ids)).collect()
    given_names = {record["record_id"]: record["given_name"] or "" for record in source}
    assert {row["record_id"]: row["given_name"] for row in rows} == given_names
