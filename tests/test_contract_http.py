"""The Glue contract over HTTP: a real boto3 Glue client against the real AWS JSON 1.1 server.

The server (Werkzeug, threaded) runs in a background thread for the whole module; every test
swaps a fresh GlueLabelingService (its own state directory) into the app. Task runs are real
OS processes started by SleepLauncher (tests/_sleep_launcher.py) and killed at teardown.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from _in_process import run_job
from _sleep_launcher import (
    SleepLauncher,
    StubbornSleepLauncher,
    admit_run,
    find_matches,
    hold_file,
    kill_jobs,
    shared_people_catalog,
    transform_request,
)
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from werkzeug.serving import make_server

from glue_labeling.launcher import _process_start_ticks
from glue_labeling.server import GlueJsonApp
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings

OUTPUT = "s3://labeling-bucket/sets/"
CONTENT_TYPE = "application/x-amz-json-1.1"
HASH_OPERATIONS = ("GetMLTransform", "DeleteMLTransform", "GetMLTaskRuns")

# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_uri(tmp_path_factory: pytest.TempPathFactory, base_settings: Settings, spark: Any) -> str:
    """db.people, registered once; every test's settings point at this catalog."""
    return shared_people_catalog(spark, base_settings, tmp_path_factory)


@pytest.fixture(scope="module")
def app(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> GlueJsonApp:
    idle = dataclasses.replace(base_settings, state_dir=str(tmp_path_factory.mktemp("idle-state")))
    return GlueJsonApp(GlueLabelingService(idle, launcher=SleepLauncher(idle)))


@pytest.fixture(scope="module")
def endpoint(app: GlueJsonApp) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def state(settings: Settings, catalog_uri: str) -> Settings:
    return dataclasses.replace(settings, catalog_uri=catalog_uri)


@pytest.fixture
def service(app: GlueJsonApp, state: Settings) -> Iterator[GlueLabelingService]:
    fresh = GlueLabelingService(state, launcher=SleepLauncher(state))
    app.service = fresh
    yield fresh
    kill_jobs(state)


def _client(endpoint: str, **config: Any) -> Any:
    return boto3.client(
        "glue",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, **config),
    )


@pytest.fixture(scope="module")
def module_glue(endpoint: str) -> Any:
    return _client(endpoint)


@pytest.fixture(scope="module")
def module_lax_glue(endpoint: str) -> Any:
    """No client-side validation: what the client would refuse reaches the server."""
    return _client(endpoint, parameter_validation=False)


@pytest.fixture
def glue(module_glue: Any, service: GlueLabelingService) -> Any:
    return module_glue


@pytest.fixture
def lax_glue(module_lax_glue: Any, service: GlueLabelingService) -> Any:
    return module_lax_glue


# -- helpers ----------------------------------------------------------------------------------


def raw(
    endpoint: str,
    operation: str | None,
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/",
    target: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One HTTP request without boto3: (status, decoded JSON body)."""
    url = urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"Content-Type": CONTENT_TYPE}
    if target is not None or operation is not None:
        headers["X-Amz-Target"] = target if target is not None else f"AWSGlue.{operation}"
    payload = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        assert response.getheader("Content-Type", "").startswith(CONTENT_TYPE)
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def create(glue: Any, name: str = "people-dedup", **overrides: Any) -> str:
    return glue.create_ml_transform(**transform_request(name, **overrides))["TransformId"]


def start(glue: Any, transform_id: str, output: str = OUTPUT) -> str:
    return glue.start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=output)["TaskRunId"]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def status_of(glue: Any, transform_id: str, task_run_id: str) -> str:
    return glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)["Status"]


def pid_of(service: GlueLabelingService, task_run_id: str) -> int:
    return int(service.ledger.get(task_run_id)["launcher_handle"].rsplit(":", 2)[1])


def error_code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def is_aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.utcoffset() is not None


def all_pages(call: Callable[..., dict[str, Any]], key: str, **request: Any) -> list[list[Any]]:
    pages, token = [], None
    while True:
        response = call(**request, **({"NextToken": token} if token else {}))
        pages.append(response[key])
        token = response.get("NextToken")
        if token is None:
            return pages


# -- transforms: happy paths ------------------------------------------------------------------


def test_create_and_get_ml_transform(glue: Any) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    transform_id = create(glue, Description="dedup people", Timeout=60, MaxRetries=1, Tags={"team": "data"})
    assert transform_id.startswith("tfm-")

    got = glue.get_ml_transform(TransformId=transform_id)
    got.pop("ResponseMetadata")
    assert got["TransformId"] == transform_id
    assert got["Name"] == "people-dedup"
    assert got["Description"] == "dedup people"
    assert got["Status"] == "NOT_READY"
    assert is_aware(got["CreatedOn"]) and is_aware(got["LastModifiedOn"])
    assert before <= got["CreatedOn"] <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert got["InputRecordTables"] == [{"DatabaseName": "db", "TableName": "people"}]
    assert got["Parameters"] == {
        "TransformType": "FIND_MATCHES",
        "FindMatchesParameters": {"PrimaryKeyColumnName": "id"},
    }
    assert got["EvaluationMetrics"] == {"TransformType": "FIND_MATCHES"}
    assert got["LabelCount"] == 0
    assert got["Schema"] == [
        {"Name": "id", "DataType": "int"},
        {"Name": "name", "DataType": "string"},
        {"Name": "city", "DataType": "string"},
    ]
    assert got["Role"] == "arn:aws:iam::123456789012:role/glue"
    assert got["MaxCapacity"] == 10.0
    assert got["Timeout"] == 60
    assert got["MaxRetries"] == 1
    assert isinstance(got["GlueVersion"], str)
    assert "Tags" not in got  # not a member of GetMLTransformResponse


def test_get_ml_transforms_and_list_ml_transforms(glue: Any) -> None:
    ids = [create(glue, f"t{i}") for i in range(3)]

    transforms = glue.get_ml_transforms()["Transforms"]
    assert [t["TransformId"] for t in transforms] == ids  # default: CREATED ascending
    assert {t["Name"] for t in transforms} == {"t0", "t1", "t2"}
    assert all(is_aware(t["CreatedOn"]) and t["Status"] == "NOT_READY" for t in transforms)

    listed = glue.list_ml_transforms()
    assert listed["TransformIds"] == ids
    assert "NextToken" not in listed


def test_update_ml_transform(glue: Any) -> None:
    transform_id = create(glue)
    created = glue.get_ml_transform(TransformId=transform_id)

    result = glue.update_ml_transform(
        TransformId=transform_id,
        Name="renamed",
        Description="new",
        WorkerType="G.1X",
        NumberOfWorkers=4,
        Parameters=find_matches("name"),
    )
    assert result["TransformId"] == transform_id

    got = glue.get_ml_transform(TransformId=transform_id)
    assert got["Name"] == "renamed"
    assert got["Description"] == "new"
    assert (got["WorkerType"], got["NumberOfWorkers"]) == ("G.1X", 4)
    assert "MaxCapacity" not in got
    assert got["Parameters"]["FindMatchesParameters"]["PrimaryKeyColumnName"] == "name"
    assert got["CreatedOn"] == created["CreatedOn"]
    assert got["LastModifiedOn"] > created["LastModifiedOn"]
    assert glue.list_ml_transforms(Filter={"Name": "renamed"})["TransformIds"] == [transform_id]
    assert glue.list_ml_transforms(Filter={"Name": "people-dedup"})["TransformIds"] == []

    glue.update_ml_transform(TransformId=transform_id, MaxCapacity=5.0)
    got = glue.get_ml_transform(TransformId=transform_id)
    assert got["MaxCapacity"] == 5.0
    assert "WorkerType" not in got and "NumberOfWorkers" not in got


def test_update_ml_transform_errors(glue: Any) -> None:
    transform_id = create(glue)
    create(glue, "other")
    with pytest.raises(glue.exceptions.AlreadyExistsException):
        glue.update_ml_transform(TransformId=transform_id, Name="other")
    with pytest.raises(glue.exceptions.InvalidInputException, match="PrimaryKeyColumnName"):
        glue.update_ml_transform(TransformId=transform_id, Parameters=find_matches("x"))
    with pytest.raises(glue.exceptions.InvalidInputException, match="NumberOfWorkers"):
        glue.update_ml_transform(TransformId=transform_id, WorkerType="G.1X")
    with pytest.raises(glue.exceptions.InvalidInputException, match="MaxCapacity"):
        glue.update_ml_transform(TransformId=transform_id, MaxCapacity=1.0)
    # Nothing of the failed updates stuck.
    got = glue.get_ml_transform(TransformId=transform_id)
    assert (got["Name"], got["MaxCapacity"]) == ("people-dedup", 10.0)
    assert got["Parameters"]["FindMatchesParameters"]["PrimaryKeyColumnName"] == "id"


def test_update_with_max_capacity_and_worker_type_is_invalid_input(glue: Any) -> None:
    transform_id = create(glue)
    with pytest.raises(glue.exceptions.InvalidInputException, match="MaxCapacity"):
        glue.update_ml_transform(TransformId=transform_id, MaxCapacity=5.0, WorkerType="G.1X", NumberOfWorkers=2)


def test_delete_ml_transform(glue: Any) -> None:
    keep, gone = create(glue, "keep"), create(glue, "gone")
    assert glue.delete_ml_transform(TransformId=gone)["TransformId"] == gone
    assert glue.list_ml_transforms()["TransformIds"] == [keep]
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_ml_transform(TransformId=gone)
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.delete_ml_transform(TransformId=gone)
    # The name is free again.
    assert create(glue, "gone") != gone


def test_duplicate_name_is_already_exists(glue: Any) -> None:
    create(glue, "twin")
    with pytest.raises(glue.exceptions.AlreadyExistsException) as error:
        create(glue, "twin")
    assert error_code(error) == ("AlreadyExistsException", 400)
    assert len(glue.list_ml_transforms()["TransformIds"]) == 1


# -- task runs: happy paths -------------------------------------------------------------------


def test_start_and_get_ml_task_run(glue: Any, service: GlueLabelingService) -> None:
    transform_id = create(glue)
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    task_run_id = start(glue, transform_id)
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert task_run_id.startswith("tsk-")

    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    run.pop("ResponseMetadata")
    assert set(run) == {
        "TransformId",
        "TaskRunId",
        "Status",
        "LogGroupName",
        "Properties",
        "StartedOn",
        "LastModifiedOn",
        "ExecutionTime",
    }
    assert run["TransformId"] == transform_id
    assert run["TaskRunId"] == task_run_id
    assert run["Status"] in ("STARTING", "RUNNING")
    assert run["Properties"] == {
        "TaskType": "LABELING_SET_GENERATION",
        "LabelingSetGenerationTaskRunProperties": {"OutputS3Path": OUTPUT},
    }
    assert is_aware(run["StartedOn"]) and is_aware(run["LastModifiedOn"])
    assert before <= run["StartedOn"] <= run["LastModifiedOn"] <= after
    assert isinstance(run["ExecutionTime"], int) and run["ExecutionTime"] >= 0
    assert run["LogGroupName"] == str(service.settings.logs_dir / f"{task_run_id}.log")

    # The launcher really started a process, and the ledger knows its handle.
    handle = service.ledger.get(task_run_id)["launcher_handle"]
    assert service.launcher.is_alive(handle) is True
    assert _process_start_ticks(pid_of(service, task_run_id)) is not None


def test_get_ml_task_runs(glue: Any) -> None:
    transform_id = create(glue)
    other = create(glue, "other")
    first, second = start(glue, transform_id), start(glue, transform_id)
    start(glue, other)

    runs = glue.get_ml_task_runs(TransformId=transform_id)
    assert "NextToken" not in runs
    assert [r["TaskRunId"] for r in runs["TaskRuns"]] == [second, first]  # STARTED descending
    for run in runs["TaskRuns"]:
        assert run["TransformId"] == transform_id
        assert run["Properties"]["TaskType"] == "LABELING_SET_GENERATION"
        assert is_aware(run["StartedOn"]) and isinstance(run["ExecutionTime"], int)


def test_cancel_ml_task_run(glue: Any, service: GlueLabelingService) -> None:
    transform_id = create(glue)
    task_run_id = start(glue, transform_id)
    pid = pid_of(service, task_run_id)
    hold_file(service.settings).touch()  # the job outlives the SIGTERM until this file is gone

    cancelled = glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert (cancelled["TransformId"], cancelled["TaskRunId"], cancelled["Status"]) == (
        transform_id,
        task_run_id,
        "STOPPING",
    )
    time.sleep(0.6)
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert run["Status"] == "STOPPING"
    assert "CompletedOn" not in run
    # A second cancel while STOPPING does not signal again and changes nothing.
    assert glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)["Status"] == "STOPPING"
    assert _process_start_ticks(pid) is not None

    hold_file(service.settings).unlink()
    wait_for(lambda: status_of(glue, transform_id, task_run_id) == "STOPPED")
    assert _process_start_ticks(pid) is None
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert is_aware(run["CompletedOn"]) and run["CompletedOn"] >= run["StartedOn"]
    assert "ErrorString" not in run
    # Cancelling a finished run changes nothing.
    assert glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)["Status"] == "STOPPED"


def test_a_job_process_that_dies_makes_the_run_failed(glue: Any, service: GlueLabelingService) -> None:
    transform_id = create(glue)
    task_run_id = start(glue, transform_id)
    os.killpg(pid_of(service, task_run_id), signal.SIGKILL)

    wait_for(lambda: status_of(glue, transform_id, task_run_id) == "FAILED")
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert run["LogGroupName"] in run["ErrorString"]
    assert is_aware(run["CompletedOn"])


@pytest.mark.parametrize(
    "output",
    ["s3://labeling-bucket/x/", "s3a://my.bucket-1/x", "s3://abc", "file:///tmp/glue-labeling-out"],
)
def test_output_paths_accepted(glue: Any, output: str) -> None:
    transform_id = create(glue)
    task_run_id = start(glue, transform_id, output)
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert run["Properties"]["LabelingSetGenerationTaskRunProperties"]["OutputS3Path"] == output


# -- declared errors --------------------------------------------------------------------------


def test_concurrent_runs_exceeded(glue: Any, service: GlueLabelingService) -> None:
    transform_id = create(glue)
    runs = [start(glue, transform_id) for _ in range(3)]
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException) as error:
        start(glue, transform_id)
    assert error_code(error) == ("ConcurrentRunsExceededException", 400)
    assert len(service.ledger.runs_of(transform_id)) == 3

    # Another transform has its own quota.
    start(glue, create(glue, "other"))

    # STOPPING still counts; once STOPPED the slot is free again.
    hold_file(service.settings).touch()
    glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=runs[0])
    time.sleep(0.6)
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
        start(glue, transform_id)
    hold_file(service.settings).unlink()
    wait_for(lambda: status_of(glue, transform_id, runs[0]) == "STOPPED")
    assert start(glue, transform_id) not in runs
    assert len(service.ledger.runs_of(transform_id)) == 4


@pytest.mark.parametrize(
    "operation",
    [
        "get_ml_transform",
        "delete_ml_transform",
        "update_ml_transform",
        "start_ml_labeling_set_generation_task_run",
        "start_import_labels_task_run",
        "start_export_labels_task_run",
        "start_ml_evaluation_task_run",
        "get_ml_task_runs",
        "get_ml_task_run",
        "cancel_ml_task_run",
    ],
)
def test_unknown_transform_is_entity_not_found(glue: Any, operation: str) -> None:
    request: dict[str, Any] = {"TransformId": "tfm-does-not-exist"}
    if operation in ("start_ml_labeling_set_generation_task_run", "start_export_labels_task_run"):
        request["OutputS3Path"] = OUTPUT
    if operation == "start_import_labels_task_run":
        request["InputS3Path"] = OUTPUT
    if operation in ("get_ml_task_run", "cancel_ml_task_run"):
        request["TaskRunId"] = "tsk-does-not-exist"
    with pytest.raises(glue.exceptions.EntityNotFoundException) as error:
        getattr(glue, operation)(**request)
    assert error_code(error) == ("EntityNotFoundException", 400)


@pytest.mark.parametrize("operation", ["get_ml_task_run", "cancel_ml_task_run"])
def test_unknown_task_run_is_entity_not_found(glue: Any, operation: str) -> None:
    transform_id, other = create(glue), create(glue, "other")
    foreign_run = start(glue, other)
    for task_run_id in ("tsk-does-not-exist", foreign_run):
        with pytest.raises(glue.exceptions.EntityNotFoundException):
            getattr(glue, operation)(TransformId=transform_id, TaskRunId=task_run_id)
    assert status_of(glue, other, foreign_run) == "STARTING"


@pytest.mark.parametrize(
    ("transform_id", "valid"),
    [
        ("", False),
        ("a", True),
        ("a" * 255, True),
        ("a" * 256, False),
        ("bad\x01id", False),
        ("\x7f", True),
        ("with\ttab", True),
        ("emoji-\U0001f600", True),
        ("lone-\ud800", False),
    ],
    ids=["len0", "len1", "len255", "len256", "control-char", "del", "tab", "supplementary", "lone-surrogate"],
)
@pytest.mark.parametrize("operation", HASH_OPERATIONS)
def test_transform_id_length_and_pattern(
    endpoint: str, service: GlueLabelingService, operation: str, transform_id: str, valid: bool
) -> None:
    status, body = raw(endpoint, operation, json.dumps({"TransformId": transform_id}))
    assert status == 400
    assert body["__type"] == ("EntityNotFoundException" if valid else "InvalidInputException"), body


def test_transform_id_bounds_through_boto3(glue: Any, lax_glue: Any) -> None:
    with pytest.raises(ParamValidationError):  # botocore checks the minimum itself
        glue.get_ml_transform(TransformId="")
    with pytest.raises(lax_glue.exceptions.InvalidInputException):
        lax_glue.get_ml_transform(TransformId="")
    with pytest.raises(glue.exceptions.InvalidInputException, match="TransformId"):
        glue.get_ml_transform(TransformId="a" * 256)
    with pytest.raises(glue.exceptions.InvalidInputException, match="TaskRunId"):
        glue.get_ml_task_run(TransformId="a", TaskRunId="b\x01")
    for transform_id in ("a", "a" * 255):
        with pytest.raises(glue.exceptions.EntityNotFoundException):
            glue.get_ml_transform(TransformId=transform_id)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("GetMLTransforms", {"MaxResults": "2"}),
        ("GetMLTransforms", {"MaxResults": 2.5}),
        ("GetMLTransforms", {"MaxResults": True}),
        ("GetMLTransforms", {"MaxResults": 0}),
        ("GetMLTransforms", {"MaxResults": 1001}),
        ("ListMLTransforms", {"MaxResults": -1}),
        ("GetMLTaskRuns", {"TransformId": "t", "MaxResults": 0}),
        ("GetMLTaskRuns", {"TransformId": "t", "MaxResults": 1001}),
        ("GetMLTaskRuns", {"TransformId": 5}),
        ("GetMLTaskRuns", {"TransformId": None}),
        ("GetMLTaskRuns", {"TransformId": "t", "Filter": []}),
        ("GetMLTaskRuns", {"TransformId": "t", "Filter": {"Status": "DONE"}}),
        ("GetMLTaskRuns", {"TransformId": "t", "Filter": {"StartedAfter": "yesterday"}}),
        ("GetMLTaskRuns", {"TransformId": "t", "Sort": {"Column": "STARTED"}}),
        ("GetMLTaskRuns", {"TransformId": "t", "Sort": {"Column": "NAME", "SortDirection": "ASCENDING"}}),
        ("GetMLTransforms", {"Sort": {"Column": "STARTED", "SortDirection": "ASCENDING"}}),
        ("GetMLTransforms", {"Filter": {"Status": "DONE"}}),
        ("ListMLTransforms", {"Tags": ["team"]}),
        ("GetMLTransform", {}),
        ("GetMLTransform", {"TransformId": "t", "Unknown": 1}),
        ("GetMLTaskRun", {"TransformId": "t"}),
        ("CancelMLTaskRun", {"TaskRunId": "t"}),
        ("StartMLLabelingSetGenerationTaskRun", {"TransformId": "t"}),
        ("StartMLLabelingSetGenerationTaskRun", {"OutputS3Path": OUTPUT}),
        ("CreateMLTransform", {k: v for k, v in transform_request().items() if k != "Role"}),
        ("CreateMLTransform", {k: v for k, v in transform_request().items() if k != "Parameters"}),
        ("CreateMLTransform", transform_request(Parameters={"TransformType": "DEDUP"})),
        ("CreateMLTransform", transform_request(InputRecordTables=[{"DatabaseName": "db"}])),
        ("CreateMLTransform", transform_request(Name="")),
        ("CreateMLTransform", transform_request(Name="x" * 256)),
        ("CreateMLTransform", transform_request(Timeout=0)),
        ("CreateMLTransform", transform_request(WorkerType="G.3X", NumberOfWorkers=2)),
        ("CreateMLTransform", transform_request(GlueVersion="four")),
    ],
)
def test_malformed_requests_are_invalid_input(
    endpoint: str, service: GlueLabelingService, operation: str, body: dict[str, Any]
) -> None:
    status, answer = raw(endpoint, operation, body)
    assert (status, answer["__type"]) == (400, "InvalidInputException"), answer
    assert answer["message"]


def test_range_errors_through_boto3_without_client_validation(lax_glue: Any) -> None:
    for size in (0, 1001):
        with pytest.raises(lax_glue.exceptions.InvalidInputException, match="MaxResults"):
            lax_glue.list_ml_transforms(MaxResults=size)
    with pytest.raises(lax_glue.exceptions.InvalidInputException, match="MaxResults"):
        lax_glue.get_ml_transforms(MaxResults="2")
    with pytest.raises(lax_glue.exceptions.InvalidInputException, match="Role"):
        lax_glue.create_ml_transform(**{k: v for k, v in transform_request().items() if k != "Role"})
    assert lax_glue.list_ml_transforms(MaxResults=1000)["TransformIds"] == []
    assert lax_glue.list_ml_transforms(MaxResults=1)["TransformIds"] == []


BAD_OUTPUTS = (
    "http://x",
    "x/y",
    "S3://labeling-bucket/x",
    "s3://A_B/x",
    "s3://ab/x",
    "s3://-bucket/x",
    "s3://bucket-/x",
    "s3://a..b/x",
    "s3://192.168.1.1/x",
    "s3:///x",
    "file://relative/path",
)


@pytest.mark.parametrize(
    ("member", "begin"),
    [
        ("OutputS3Path", lambda glue, tid, path: start(glue, tid, path)),
        ("OutputS3Path", lambda glue, tid, path: glue.start_export_labels_task_run(TransformId=tid, OutputS3Path=path)),
        ("InputS3Path", lambda glue, tid, path: glue.start_import_labels_task_run(TransformId=tid, InputS3Path=path)),
    ],
    ids=["labeling-set", "export", "import"],
)
def test_bad_s3_path_is_invalid_input(glue: Any, member: str, begin: Callable[[Any, str, str], Any]) -> None:
    transform_id = create(glue)
    accepted = []
    for path in BAD_OUTPUTS:
        try:
            begin(glue, transform_id, path)
            accepted.append(path)
        except glue.exceptions.InvalidInputException as error:
            assert member in str(error)
    assert accepted == []
    assert glue.get_ml_task_runs(TransformId=transform_id)["TaskRuns"] == []


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"Parameters": find_matches("pk")}, "PrimaryKeyColumnName"),
        ({"Parameters": {"TransformType": "FIND_MATCHES"}}, "PrimaryKeyColumnName"),
        ({"InputRecordTables": [{"DatabaseName": "db", "TableName": "nobody"}]}, "not in the catalog"),
        ({"InputRecordTables": []}, "InputRecordTables"),
        ({"MaxCapacity": 10.0, "WorkerType": "G.1X", "NumberOfWorkers": 2}, "MaxCapacity"),
        ({"WorkerType": "G.1X"}, "NumberOfWorkers"),
        ({"MaxCapacity": 1.0}, "MaxCapacity"),
        ({"NumberOfWorkers": 0, "WorkerType": "G.1X"}, "NumberOfWorkers"),
        ({"MaxRetries": -1}, "MaxRetries"),
    ],
)
def test_create_semantic_errors_are_invalid_input(glue: Any, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(glue.exceptions.InvalidInputException, match=match):
        create(glue, **overrides)
    assert glue.list_ml_transforms()["TransformIds"] == []


def test_primary_key_is_matched_case_insensitively(glue: Any) -> None:
    parameters = find_matches("ID")
    assert create(glue, Parameters=parameters).startswith("tfm-")


# -- protocol-level errors --------------------------------------------------------------------


def test_unknown_operation(endpoint: str, glue: Any) -> None:
    for request in (
        {"operation": "DoesNotExist"},
        {"operation": None, "target": "Foreign.GetMLTransform"},
        {"operation": None},
        {"operation": "GetMLTransform", "method": "GET"},
        {"operation": "GetMLTransform", "path": "/other"},
    ):
        status, body = raw(endpoint, body="{}", **request)
        assert (status, body["__type"]) == (400, "UnknownOperationException"), request
    # An operation boto3 knows but this service does not implement.
    with pytest.raises(ClientError) as error:
        glue.get_databases()
    assert error_code(error) == ("UnknownOperationException", 400)


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', "null"])
def test_body_that_is_not_a_json_object_is_invalid_input(
    endpoint: str, service: GlueLabelingService, body: str
) -> None:
    status, answer = raw(endpoint, "ListMLTransforms", body)
    assert (status, answer["__type"]) == (400, "InvalidInputException")


def test_empty_body_means_empty_request(endpoint: str, service: GlueLabelingService) -> None:
    assert raw(endpoint, "ListMLTransforms", "") == (200, {"TransformIds": []})


def test_unexpected_error_in_an_operation_is_internal_service_exception(
    glue: Any, endpoint: str, service: GlueLabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service.registry, "all", broken)
    with pytest.raises(glue.exceptions.InternalServiceException) as error:
        glue.list_ml_transforms()
    assert error_code(error) == ("InternalServiceException", 500)
    status, body = raw(endpoint, "GetMLTransforms", {})
    assert status == 500
    assert body == {"__type": "InternalServiceException", "message": "RuntimeError: disk on fire"}


def test_unexpected_error_outside_the_service_is_internal_service_exception(
    endpoint: str, service: GlueLabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(operation: str, request: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("boom")

    monkeypatch.setattr(service, "call", broken)
    status, body = raw(endpoint, "ListMLTransforms", {})
    assert (status, body["__type"]) == (500, "InternalServiceException")
    assert "Traceback" not in body["message"]


def test_failed_launch_makes_the_run_failed(
    glue: Any, service: GlueLabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    transform_id = create(glue)

    def no_launch(task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        raise OSError("no spark-submit")

    monkeypatch.setattr(service.launcher, "start", no_launch)
    task_run_id = start(glue, transform_id)
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
    assert run["Status"] == "FAILED"
    assert "no spark-submit" in run["ErrorString"]
    # A failed launch does not hold a concurrency slot.
    assert all(start(glue, transform_id) for _ in range(3))


def test_a_run_is_visible_only_once_its_job_is_launched(
    glue: Any, service: GlueLabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admission, launch and the ledger row with its handle are one step: no reader (a Get, a
    Cancel, the sweeper) can see a STARTING run without a handle."""
    transform_id = create(glue)
    launch = service.launcher.start
    seen_during_launch: list[Any] = []

    def observed_launch(task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        seen_during_launch.append(service.ledger.get(task_run_id))
        return launch(task_run_id, job, arguments)

    monkeypatch.setattr(service.launcher, "start", observed_launch)
    task_run_id = start(glue, transform_id)
    assert seen_during_launch == [None]
    handle = service.ledger.get(task_run_id)["launcher_handle"]
    assert service.launcher.is_alive(handle) is True


def test_a_run_past_its_timeout_is_stopped_and_timed_out(glue: Any, service: GlueLabelingService) -> None:
    transform_id = create(glue, Timeout=1)
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    admit_run(service.settings, transform_id, "tsk-late", started=started, timeout_minutes=1)
    pid = pid_of(service, "tsk-late")

    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId="tsk-late")
    assert run["Status"] == "TIMEOUT"
    assert "Timeout of 1 minutes" in run["ErrorString"]
    assert run["ExecutionTime"] >= 120
    wait_for(lambda: _process_start_ticks(pid) is None)  # SIGKILLed
    assert start(glue, transform_id).startswith("tsk-")  # the slot is free


def test_a_stopping_run_whose_job_ignores_sigterm_is_killed_past_its_timeout(
    glue: Any, service: GlueLabelingService
) -> None:
    transform_id = create(glue, Timeout=1)
    stubborn = StubbornSleepLauncher(service.settings)
    admit_run(
        service.settings,
        transform_id,
        "tsk-stubborn",
        started=dt.datetime.now(dt.timezone.utc),
        timeout_minutes=1,
        launch=lambda: stubborn.start("tsk-stubborn", "job", {}),
    )
    pid = pid_of(service, "tsk-stubborn")
    assert glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId="tsk-stubborn")["Status"] == "STOPPING"
    time.sleep(0.3)
    assert _process_start_ticks(pid) is not None  # SIGTERM ignored
    assert status_of(glue, transform_id, "tsk-stubborn") == "STOPPING"
    # Age the run past its Timeout rather than sleeping through it: the sweeper must now kill it.
    ledger = service.ledger
    ledger.record("tsk-stubborn", started_on=ledger.get("tsk-stubborn")["started_on"] - dt.timedelta(minutes=10))
    wait_for(lambda: status_of(glue, transform_id, "tsk-stubborn") == "STOPPED", timeout=5)
    assert _process_start_ticks(pid) is None


def test_concurrent_starts_over_http(glue: Any, service: GlueLabelingService) -> None:
    """The threaded server admits exactly the quota when many requests arrive at once."""
    transform_id = create(glue)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    guard = threading.Lock()

    def call() -> None:
        barrier.wait(timeout=30)
        try:
            start(glue, transform_id)
            outcome = "ok"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ConcurrentRunsExceededException"] * 5 + ["ok"] * 3
    assert len(glue.get_ml_task_runs(TransformId=transform_id)["TaskRuns"]) == 3


def test_a_run_recorded_without_a_handle_is_failed_by_the_sweeper(glue: Any, service: GlueLabelingService) -> None:
    """A launcher that gives no handle: no process can be found, so the sweeper calls it lost."""
    transform_id = create(glue)
    admit_run(service.settings, transform_id, "tsk-lost", started=dt.datetime.now(dt.timezone.utc), launch=lambda: "")
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId="tsk-lost")
    assert run["Status"] == "FAILED"
    assert "ended without reporting a final status" in run["ErrorString"]


# -- labels -----------------------------------------------------------------------------------


def test_import_and_export_labels_through_boto3(
    glue: Any, service: GlueLabelingService, spark: Any, tmp_path: Path
) -> None:
    """The jobs run here (run_job), on the runs boto3 started; the sleep jobs stand in for them."""
    transform_id = create(glue)
    labels = tmp_path / "labels.csv"
    labels.write_text("labeling_set_id,label,id,name,city\ns1,A,1,Ann,Oslo\ns1,A,3,Ann,Oslo\ns1,B,2,Bob,Rome\n")
    import_id = glue.start_import_labels_task_run(
        TransformId=transform_id, InputS3Path=f"file://{labels}", ReplaceAllLabels=True
    )["TaskRunId"]
    run = glue.get_ml_task_run(TransformId=transform_id, TaskRunId=import_id)
    assert run["Status"] == "STARTING"
    assert run["Properties"] == {
        "TaskType": "IMPORT_LABELS",
        "ImportLabelsTaskRunProperties": {"InputS3Path": f"file://{labels}", "Replace": True},
    }

    assert run_job(spark, service.settings, import_id) == 0
    assert status_of(glue, transform_id, import_id) == "SUCCEEDED"
    transform = glue.get_ml_transform(TransformId=transform_id)
    assert (transform["LabelCount"], transform["Status"]) == (3, "NOT_READY")
    assert glue.get_ml_transforms()["Transforms"][0]["LabelCount"] == 3

    output = f"file://{tmp_path / 'export'}"
    export_id = glue.start_export_labels_task_run(TransformId=transform_id, OutputS3Path=output)["TaskRunId"]
    assert glue.get_ml_task_run(TransformId=transform_id, TaskRunId=export_id)["Properties"] == {
        "TaskType": "EXPORT_LABELS",
        "ExportLabelsTaskRunProperties": {"OutputS3Path": output},
    }
    assert run_job(spark, service.settings, export_id) == 0
    assert status_of(glue, transform_id, export_id) == "SUCCEEDED"
    exported = sorted((tmp_path / "export" / export_id).glob("labeling_set=s1/*.csv"))
    assert [line.split(",")[:3] for line in exported[0].read_text().splitlines()] == [
        ["labeling_set_id", "label", "id"],
        ["s1", "A", "1"],
        ["s1", "B", "2"],
        ["s1", "A", "3"],
    ]
    imports = glue.get_ml_task_runs(TransformId=transform_id, Filter={"TaskRunType": "IMPORT_LABELS"})["TaskRuns"]
    assert [r["TaskRunId"] for r in imports] == [import_id]


def test_one_label_import_at_a_time(glue: Any, service: GlueLabelingService) -> None:
    """botocore's model declares ResourceNumberLimitExceededException for StartImportLabelsTaskRun
    (and no ConcurrentRunsExceededException); StartExportLabelsTaskRun declares no limit error
    and gets ConcurrentRunsExceededException as the labeling-set start does."""
    transform_id = create(glue)
    first = glue.start_import_labels_task_run(TransformId=transform_id, InputS3Path=OUTPUT)["TaskRunId"]
    with pytest.raises(glue.exceptions.ResourceNumberLimitExceededException, match=first) as error:
        glue.start_import_labels_task_run(TransformId=transform_id, InputS3Path=OUTPUT, ReplaceAllLabels=True)
    assert error_code(error) == ("ResourceNumberLimitExceededException", 400)

    glue.start_export_labels_task_run(TransformId=transform_id, OutputS3Path=OUTPUT)
    start(glue, transform_id)  # the third active run: the transform's limit
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
        glue.start_export_labels_task_run(TransformId=transform_id, OutputS3Path=OUTPUT)
    assert len(service.ledger.runs_of(transform_id)) == 3

    glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=first)
    wait_for(lambda: status_of(glue, transform_id, first) == "STOPPED")
    second = glue.start_import_labels_task_run(TransformId=transform_id, InputS3Path=OUTPUT)["TaskRunId"]
    assert status_of(glue, transform_id, second) == "STARTING"


def test_evaluation_of_a_not_ready_transform_is_ml_transform_not_ready(glue: Any) -> None:
    transform_id = create(glue)
    with pytest.raises(glue.exceptions.MLTransformNotReadyException, match="NOT_READY") as error:
        glue.start_ml_evaluation_task_run(TransformId=transform_id)
    assert error_code(error) == ("MLTransformNotReadyException", 400)


def test_import_requires_an_input_path_and_a_boolean_replace(glue: Any, lax_glue: Any) -> None:
    transform_id = create(glue)
    with pytest.raises(ParamValidationError):
        glue.start_import_labels_task_run(TransformId=transform_id)
    with pytest.raises(lax_glue.exceptions.InvalidInputException, match="InputS3Path: member is required"):
        lax_glue.start_import_labels_task_run(TransformId=transform_id)
    with pytest.raises(lax_glue.exceptions.InvalidInputException, match="ReplaceAllLabels: expected a boolean"):
        lax_glue.start_import_labels_task_run(TransformId=transform_id, InputS3Path=OUTPUT, ReplaceAllLabels="yes")
    assert glue.get_ml_task_runs(TransformId=transform_id)["TaskRuns"] == []


# -- paging, sorting, filtering of task runs --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A state built once per module for the read-only paging/sorting/filtering tests."""

    service: GlueLabelingService
    glue: Any
    transform_id: str
    items: list[dict[str, Any]]


@contextlib.contextmanager
def scenario_service(
    app: GlueJsonApp, base_settings: Settings, catalog_uri: str, directory: Path
) -> Iterator[GlueLabelingService]:
    state = dataclasses.replace(
        base_settings, state_dir=str(directory / "state"), catalog_uri=catalog_uri, max_concurrent_runs_per_transform=10
    )
    app.service = GlueLabelingService(state, launcher=SleepLauncher(state))
    try:
        yield app.service
    finally:
        kill_jobs(state)


@pytest.fixture(scope="module")
def runs_scenario(
    app: GlueJsonApp,
    module_glue: Any,
    base_settings: Settings,
    catalog_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    """Five runs of one transform, in start order; the 2nd and 4th cancelled and STOPPED."""
    glue = module_glue
    with scenario_service(app, base_settings, catalog_uri, tmp_path_factory.mktemp("runs")) as service:
        transform_id = create(glue)
        ids = [start(glue, transform_id) for _ in range(5)]
        for task_run_id in (ids[1], ids[3]):
            glue.cancel_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
        wait_for(lambda: all(status_of(glue, transform_id, ids[i]) == "STOPPED" for i in (1, 3)))
        runs = [glue.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id) for task_run_id in ids]
        yield Scenario(service, glue, transform_id, runs)


@pytest.fixture
def five_runs(app: GlueJsonApp, runs_scenario: Scenario) -> Scenario:
    app.service = runs_scenario.service
    return runs_scenario


def _run_ids(glue: Any, transform_id: str, **request: Any) -> list[str]:
    return [r["TaskRunId"] for r in glue.get_ml_task_runs(TransformId=transform_id, **request)["TaskRuns"]]


def test_task_run_paging(five_runs: Scenario) -> None:
    glue, transform_id, runs = five_runs.glue, five_runs.transform_id, five_runs.items
    ids = [r["TaskRunId"] for r in runs]
    pages = all_pages(glue.get_ml_task_runs, "TaskRuns", TransformId=transform_id, MaxResults=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [r["TaskRunId"] for page in pages for r in page] == ids[::-1]

    pages = all_pages(glue.get_ml_task_runs, "TaskRuns", TransformId=transform_id, MaxResults=5)
    assert len(pages) == 1 and len(pages[0]) == 5

    forged = base64.urlsafe_b64encode(json.dumps({"offset": -1}).encode()).decode()
    for token in ("garbage", "!!!", forged, base64.urlsafe_b64encode(b"[1]").decode()):
        with pytest.raises(glue.exceptions.InvalidInputException, match="NextToken"):
            glue.get_ml_task_runs(TransformId=transform_id, NextToken=token)


def test_task_run_sorting(five_runs: Scenario) -> None:
    glue, transform_id, runs = five_runs.glue, five_runs.transform_id, five_runs.items
    ids = [r["TaskRunId"] for r in runs]

    def ordered(column: str, direction: str) -> list[str]:
        return _run_ids(glue, transform_id, Sort={"Column": column, "SortDirection": direction})

    assert ordered("STARTED", "ASCENDING") == ids
    assert ordered("STARTED", "DESCENDING") == ids[::-1]
    by_status = sorted(runs, key=lambda r: (r["Status"], r["TaskRunId"]))
    assert [r["Status"] for r in by_status] == ["STARTING"] * 3 + ["STOPPED"] * 2
    assert ordered("STATUS", "ASCENDING") == [r["TaskRunId"] for r in by_status]
    assert ordered("STATUS", "DESCENDING") == [r["TaskRunId"] for r in by_status][::-1]
    # One task type only: ties fall back to the TaskRunId.
    assert ordered("TASK_RUN_TYPE", "ASCENDING") == sorted(ids)
    assert ordered("TASK_RUN_TYPE", "DESCENDING") == sorted(ids, reverse=True)
    # Sorting then paging: the pages continue the sorted order.
    pages = all_pages(
        glue.get_ml_task_runs,
        "TaskRuns",
        TransformId=transform_id,
        MaxResults=2,
        Sort={"Column": "STARTED", "SortDirection": "ASCENDING"},
    )
    assert [r["TaskRunId"] for page in pages for r in page] == ids


def test_task_run_filtering(five_runs: Scenario) -> None:
    glue, transform_id, runs = five_runs.glue, five_runs.transform_id, five_runs.items
    ids = [r["TaskRunId"] for r in runs]
    ascending = {"Sort": {"Column": "STARTED", "SortDirection": "ASCENDING"}}

    def filtered(**criteria: Any) -> list[str]:
        return _run_ids(glue, transform_id, Filter=criteria, **ascending)

    assert filtered(Status="STOPPED") == [ids[1], ids[3]]
    assert filtered(Status="STARTING") == [ids[0], ids[2], ids[4]]
    assert filtered(Status="SUCCEEDED") == []
    assert filtered(TaskRunType="LABELING_SET_GENERATION") == ids
    assert filtered(TaskRunType="EVALUATION") == []
    assert filtered(StartedAfter=runs[1]["StartedOn"]) == ids[2:]
    assert filtered(StartedBefore=runs[3]["StartedOn"]) == ids[:3]
    assert filtered(StartedAfter=runs[1]["StartedOn"], StartedBefore=runs[3]["StartedOn"]) == [ids[2]]
    assert filtered(StartedAfter=runs[0]["StartedOn"], Status="STOPPED") == [ids[1], ids[3]]
    assert filtered(StartedBefore=runs[0]["StartedOn"]) == []
    # Filter, then page.
    pages = all_pages(
        glue.get_ml_task_runs,
        "TaskRuns",
        TransformId=transform_id,
        MaxResults=2,
        Filter={"Status": "STARTING"},
        **ascending,
    )
    assert [[r["TaskRunId"] for r in page] for page in pages] == [[ids[0], ids[2]], [ids[4]]]


# -- paging, sorting, filtering of transforms -------------------------------------------------

NAMES = ("delta", "alpha", "echo", "charlie", "bravo")


@pytest.fixture(scope="module")
def transforms_scenario(
    app: GlueJsonApp,
    module_glue: Any,
    base_settings: Settings,
    catalog_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    """Five transforms created in NAMES order; 'alpha' and 'echo' tagged team=a."""
    glue = module_glue
    with scenario_service(app, base_settings, catalog_uri, tmp_path_factory.mktemp("transforms")) as service:
        ids = [create(glue, name, Tags={"team": "a"} if name in ("alpha", "echo") else {}) for name in NAMES]
        transforms = [glue.get_ml_transform(TransformId=transform_id) for transform_id in ids]
        yield Scenario(service, glue, "", transforms)


@pytest.fixture
def five_transforms(app: GlueJsonApp, transforms_scenario: Scenario) -> Scenario:
    app.service = transforms_scenario.service
    return transforms_scenario


def test_transform_paging(five_transforms: Scenario) -> None:
    glue = five_transforms.glue
    ids = [t["TransformId"] for t in five_transforms.items]
    pages = all_pages(glue.list_ml_transforms, "TransformIds", MaxResults=2)
    assert pages == [ids[:2], ids[2:4], ids[4:]]
    pages = all_pages(glue.get_ml_transforms, "Transforms", MaxResults=2)
    assert [[t["TransformId"] for t in page] for page in pages] == [ids[:2], ids[2:4], ids[4:]]
    for call in (glue.list_ml_transforms, glue.get_ml_transforms):
        with pytest.raises(glue.exceptions.InvalidInputException, match="NextToken"):
            call(NextToken="garbage")


def test_transform_sorting(five_transforms: Scenario) -> None:
    glue = five_transforms.glue
    by_name = sorted(five_transforms.items, key=lambda t: t["Name"])
    ascending = glue.get_ml_transforms(Sort={"Column": "NAME", "SortDirection": "ASCENDING"})["Transforms"]
    assert [t["Name"] for t in ascending] == sorted(NAMES)
    descending = glue.list_ml_transforms(Sort={"Column": "NAME", "SortDirection": "DESCENDING"})
    assert descending["TransformIds"] == [t["TransformId"] for t in by_name][::-1]
    created = glue.list_ml_transforms(Sort={"Column": "CREATED", "SortDirection": "DESCENDING"})
    assert created["TransformIds"] == [t["TransformId"] for t in five_transforms.items][::-1]
    pages = all_pages(
        glue.list_ml_transforms,
        "TransformIds",
        MaxResults=2,
        Sort={"Column": "NAME", "SortDirection": "ASCENDING"},
    )
    assert [i for page in pages for i in page] == [t["TransformId"] for t in by_name]


def test_transform_filtering(five_transforms: Scenario) -> None:
    glue = five_transforms.glue
    ids = {t["Name"]: t["TransformId"] for t in five_transforms.items}

    def listed(**request: Any) -> list[str]:
        return glue.list_ml_transforms(**request)["TransformIds"]

    assert listed(Filter={"Name": "echo"}) == [ids["echo"]]
    assert listed(Filter={"Name": "nobody"}) == []
    assert listed(Filter={"Status": "NOT_READY"}) == [ids[n] for n in NAMES]
    assert listed(Filter={"Status": "READY"}) == []
    assert listed(Filter={"TransformType": "FIND_MATCHES"}) == [ids[n] for n in NAMES]
    assert listed(Filter={"CreatedAfter": five_transforms.items[2]["CreatedOn"]}) == [ids["charlie"], ids["bravo"]]
    assert listed(Filter={"CreatedBefore": five_transforms.items[1]["CreatedOn"]}) == [ids["delta"]]
    assert listed(Filter={"Schema": [{"Name": "city", "DataType": "string"}]}) == [ids[n] for n in NAMES]
    assert listed(Filter={"Schema": [{"Name": "city", "DataType": "int"}]}) == []
    assert listed(Tags={"team": "a"}) == [ids["alpha"], ids["echo"]]
    assert listed(Tags={"team": "b"}) == []
    got = glue.get_ml_transforms(Filter={"Name": "alpha", "Status": "NOT_READY"})["Transforms"]
    assert [t["TransformId"] for t in got] == [ids["alpha"]]


def test_each_test_gets_a_fresh_state(glue: Any, service: GlueLabelingService, tmp_path: Path) -> None:
    assert glue.list_ml_transforms()["TransformIds"] == []
    assert Path(service.settings.state_dir).is_relative_to(tmp_path)


def test_a_ledger_that_cannot_be_reached_in_time_is_operation_timeout(
    glue: Any, app: GlueJsonApp, state: Settings
) -> None:
    impatient = dataclasses.replace(state, operation_timeout_seconds=0.3)
    app.service = GlueLabelingService(impatient, launcher=SleepLauncher(impatient))
    transform_id = create(glue)
    # Another process holding the ledger's lock looks, from here, like a ledger that is unreachable.
    hold_lock = (
        "import filelock, sys, time\n"
        "lock = filelock.FileLock(sys.argv[1])\n"
        "lock.acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(30)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold_lock, str(impatient.locks_dir / "ledger.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(glue.exceptions.OperationTimeoutException):
            start(glue, transform_id)
    finally:
        holder.kill()
        holder.wait()
    assert glue.get_ml_task_runs(TransformId=transform_id)["TaskRuns"] == []
