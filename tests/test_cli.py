"""The `glue-labeling` CLI: AWS CLI verbs and flags generated from botocore's model, JSON on
stdout, AWS error JSON on stderr with exit code 254.

Most cases run `glue_labeling.cli.main(argv)` in-process; one runs the installed console
script. The CLI builds its client from the environment (GLUE_LABELING_*), pointed here at the
test's state directory. No case lets the CLI launch a job (that would spark-submit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _in_process import InProcessLauncher, run_job
from _sleep_launcher import admit_run, hold_file, kill_jobs, shared_people_catalog, transform_request

import glue_labeling.service as service_module
from glue_labeling.cli import SERVICE_ERROR_EXIT, build_parser, main
from glue_labeling.ledger import TaskRunLedger
from glue_labeling.settings import ENV_PREFIX, PROJECT_ROOT, Settings

CONSOLE_SCRIPT = Path(sys.executable).parent / "glue-labeling"
TABLES = '[{"DatabaseName":"db","TableName":"people"}]'
PARAMETERS = '{"TransformType":"FIND_MATCHES","FindMatchesParameters":{"PrimaryKeyColumnName":"id"}}'


@pytest.fixture
def state(
    settings: Settings,
    spark: Any,
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The CLI's environment: this test's state dir, the shared catalog, no config file."""
    state = dataclasses.replace(settings, catalog_uri=shared_people_catalog(spark, base_settings, tmp_path_factory))
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_PREFIX + "CONF", str(tmp_path / "no-such-config.toml"))
    monkeypatch.setenv(ENV_PREFIX + "STATE_DIR", state.state_dir)
    monkeypatch.setenv(ENV_PREFIX + "CATALOG_URI", state.catalog_uri)
    yield state
    kill_jobs(state)


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, Any, str]:
        """(exit code, stdout as JSON or None, stderr)."""
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, (json.loads(out) if out.strip() else None), err

    def ok(self, *argv: str) -> Any:
        code, out, err = self(*argv)
        assert code == 0, err
        assert err == ""
        return out

    def fails(self, *argv: str) -> dict[str, str]:
        code, out, err = self(*argv)
        assert code == SERVICE_ERROR_EXIT
        assert out is None
        error = json.loads(err)
        assert set(error) == {"__type", "message"}
        return error


@pytest.fixture
def cli(state: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def create(cli: Cli, name: str = "n") -> str:
    created = cli.ok(
        "create-ml-transform",
        "--name",
        name,
        "--role",
        "r",
        "--input-record-tables",
        TABLES,
        "--parameters",
        PARAMETERS,
    )
    return created["TransformId"]


# -- verbs and flags --------------------------------------------------------------------------


def test_verbs_and_flags_are_named_as_the_aws_cli_names_them() -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # argparse has no public API for this
    assert {
        "create-ml-transform",
        "get-ml-transform",
        "get-ml-transforms",
        "list-ml-transforms",
        "update-ml-transform",
        "delete-ml-transform",
        "start-ml-labeling-set-generation-task-run",
        "get-ml-task-run",
        "get-ml-task-runs",
        "cancel-ml-task-run",
        "start-import-labels-task-run",
        "start-export-labels-task-run",
        "serve",
        "register-table",
        "wait-ml-task-run",
    } <= set(verbs)
    start_flags = {flag for action in verbs["start-ml-labeling-set-generation-task-run"]._actions
                   for flag in action.option_strings}  # fmt: skip
    assert {"--transform-id", "--output-s3-path", "--cli-input-json"} <= start_flags
    create_flags = {flag for action in verbs["create-ml-transform"]._actions for flag in action.option_strings}
    assert {"--input-record-tables", "--max-capacity", "--number-of-workers", "--worker-type"} <= create_flags


def test_unknown_verb_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-verb"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- happy paths ------------------------------------------------------------------------------


def test_create_with_json_structure_flags_then_get(cli: Cli) -> None:
    transform_id = create(cli, "n")
    assert transform_id.startswith("tfm-")

    got = cli.ok("get-ml-transform", "--transform-id", transform_id)
    assert got["TransformId"] == transform_id
    assert got["Name"] == "n"
    assert got["Role"] == "r"
    assert got["Status"] == "NOT_READY"
    assert got["InputRecordTables"] == json.loads(TABLES)
    assert got["Parameters"] == json.loads(PARAMETERS)
    assert [column["Name"] for column in got["Schema"]] == ["id", "name", "city"]
    assert got["MaxCapacity"] == 10.0
    # Timestamps print as ISO-8601 with a UTC offset.
    created = dt.datetime.fromisoformat(got["CreatedOn"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.timezone.utc) - created) < dt.timedelta(minutes=5)


def test_cli_input_json_inline(cli: Cli) -> None:
    request = transform_request("inline", Description="from json", MaxCapacity=4.0)
    transform_id = cli.ok("create-ml-transform", "--cli-input-json", json.dumps(request))["TransformId"]
    got = cli.ok("get-ml-transform", "--cli-input-json", json.dumps({"TransformId": transform_id}))
    assert (got["Name"], got["Description"], got["MaxCapacity"]) == ("inline", "from json", 4.0)


def test_cli_input_json_from_a_file(cli: Cli, tmp_path: Path) -> None:
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(transform_request("from-file", Timeout=30)))
    transform_id = cli.ok("create-ml-transform", "--cli-input-json", f"file://{request_file}")["TransformId"]
    got = cli.ok("get-ml-transform", "--transform-id", transform_id)
    assert (got["Name"], got["Timeout"]) == ("from-file", 30)


def test_flags_override_cli_input_json(cli: Cli) -> None:
    request = json.dumps(transform_request("from-json", Description="json"))
    transform_id = cli.ok("create-ml-transform", "--cli-input-json", request, "--name", "from-flag")["TransformId"]
    got = cli.ok("get-ml-transform", "--transform-id", transform_id)
    assert (got["Name"], got["Description"]) == ("from-flag", "json")


def test_scalar_flags_are_typed_from_the_model(cli: Cli) -> None:
    transform_id = create(cli)
    cli.ok(
        "update-ml-transform",
        "--transform-id",
        transform_id,
        "--worker-type",
        "G.2X",
        "--number-of-workers",
        "3",
        "--timeout",
        "15",
    )
    got = cli.ok("get-ml-transform", "--transform-id", transform_id)
    assert (got["WorkerType"], got["NumberOfWorkers"], got["Timeout"]) == ("G.2X", 3, 15)
    assert "MaxCapacity" not in got
    cli.ok("update-ml-transform", "--transform-id", transform_id, "--max-capacity", "2.5")
    assert cli.ok("get-ml-transform", "--transform-id", transform_id)["MaxCapacity"] == 2.5


def test_list_get_sort_page_and_delete(cli: Cli) -> None:
    ids = {name: create(cli, name) for name in ("b", "c", "a")}
    assert cli.ok("list-ml-transforms")["TransformIds"] == [ids["b"], ids["c"], ids["a"]]

    page = cli.ok("list-ml-transforms", "--max-results", "2", "--sort", '{"Column":"NAME","SortDirection":"ASCENDING"}')
    assert page["TransformIds"] == [ids["a"], ids["b"]]
    rest = cli.ok(
        "list-ml-transforms",
        "--max-results",
        "2",
        "--sort",
        '{"Column":"NAME","SortDirection":"ASCENDING"}',
        "--next-token",
        page["NextToken"],
    )
    assert rest == {"TransformIds": [ids["c"]]}

    got = cli.ok("get-ml-transforms", "--filter", '{"Name":"c"}')["Transforms"]
    assert [t["TransformId"] for t in got] == [ids["c"]]

    assert cli.ok("delete-ml-transform", "--transform-id", ids["c"]) == {"TransformId": ids["c"]}
    assert sorted(cli.ok("list-ml-transforms")["TransformIds"]) == sorted([ids["a"], ids["b"]])


def test_task_run_verbs(cli: Cli, state: Settings) -> None:
    """Runs are put in the ledger directly, with sleep jobs (the CLI's start would spark-submit)."""
    transform_id = create(cli)
    admit_run(state, transform_id, "tsk-old", started=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    admit_run(state, transform_id, "tsk-new")

    run = cli.ok("get-ml-task-run", "--transform-id", transform_id, "--task-run-id", "tsk-new")
    assert run["Status"] == "STARTING"
    assert run["Properties"]["TaskType"] == "LABELING_SET_GENERATION"
    assert isinstance(run["ExecutionTime"], int)
    dt.datetime.fromisoformat(run["StartedOn"])

    runs = cli.ok(
        "get-ml-task-runs",
        "--transform-id",
        transform_id,
        "--filter",
        '{"StartedAfter": "2021-01-01T00:00:00Z"}',
    )["TaskRuns"]
    assert [r["TaskRunId"] for r in runs] == ["tsk-new"]
    timed_out = cli.ok("get-ml-task-runs", "--transform-id", transform_id, "--filter", '{"Status": "TIMEOUT"}')
    assert [r["TaskRunId"] for r in timed_out["TaskRuns"]] == ["tsk-old"]  # past the 2880 minutes

    hold_file(state).touch()  # the sleep job outlives the SIGTERM: the run stays STOPPING
    cancelled = cli.ok("cancel-ml-task-run", "--transform-id", transform_id, "--task-run-id", "tsk-new")
    assert cancelled == {"TransformId": transform_id, "TaskRunId": "tsk-new", "Status": "STOPPING"}


def test_wait_ml_task_run_prints_each_status_and_exits_by_outcome(cli: Cli, state: Settings) -> None:
    transform_id = create(cli)
    ledger = TaskRunLedger(state)
    admit_run(state, transform_id, "tsk-ok")
    assert ledger.transition("tsk-ok", "RUNNING") and ledger.transition("tsk-ok", "SUCCEEDED")
    wait = ["wait-ml-task-run", "--transform-id", transform_id, "--poll-seconds", "0"]

    assert main([*wait, "--task-run-id", "tsk-ok"]) == 0
    out, err = cli.capsys.readouterr()
    first, final = out.split("\n", 1)
    assert json.loads(first) == {"TaskRunId": "tsk-ok", "Status": "SUCCEEDED"}
    assert json.loads(final)["Status"] == "SUCCEEDED" and "CompletedOn" in json.loads(final)
    assert err == ""

    lost = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    admit_run(state, transform_id, "tsk-lost", started=lost, launch=lambda: "")  # no handle: never launched
    assert main([*wait, "--task-run-id", "tsk-lost"]) == 1
    out, _ = cli.capsys.readouterr()
    first, final = out.split("\n", 1)
    assert json.loads(first)["Status"] == "FAILED"
    assert "ended without reporting a final status" in json.loads(final)["ErrorString"]


def test_label_verbs_import_and_export(
    cli: Cli, state: Settings, spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's launcher only records the runs; their jobs run here (run_job)."""
    monkeypatch.setattr(service_module, "launcher_for", lambda settings: InProcessLauncher())
    transform_id = create(cli)
    labels = tmp_path / "labels.csv"
    labels.write_text("labeling_set_id,label,id\ns1,A,1\ns1,A,3\ns1,B,2\n")
    imported = cli.ok(
        "start-import-labels-task-run",
        "--transform-id",
        transform_id,
        "--input-s3-path",
        f"file://{labels}",
        "--replace-all-labels",
    )["TaskRunId"]
    assert run_job(spark, state, imported) == 0
    run = cli.ok("get-ml-task-run", "--transform-id", transform_id, "--task-run-id", imported)
    assert run["Status"] == "SUCCEEDED"
    assert run["Properties"]["ImportLabelsTaskRunProperties"] == {"InputS3Path": f"file://{labels}", "Replace": True}
    transform = cli.ok("get-ml-transform", "--transform-id", transform_id)
    assert (transform["LabelCount"], transform["Status"]) == (3, "NOT_READY")

    output = f"file://{tmp_path / 'export'}"
    exported = cli.ok("start-export-labels-task-run", "--transform-id", transform_id, "--output-s3-path", output)
    assert run_job(spark, state, exported["TaskRunId"]) == 0
    assert (tmp_path / "export" / exported["TaskRunId"] / "_SUCCESS").exists()
    again = cli.ok(
        "start-import-labels-task-run",
        "--transform-id",
        transform_id,
        "--input-s3-path",
        f"{output}/{exported['TaskRunId']}/",
        "--no-replace-all-labels",
    )["TaskRunId"]
    assert run_job(spark, state, again) == 0
    run = cli.ok("get-ml-task-run", "--transform-id", transform_id, "--task-run-id", again)
    assert (run["Status"], run["Properties"]["ImportLabelsTaskRunProperties"]["Replace"]) == ("SUCCEEDED", False)
    assert cli.ok("get-ml-transform", "--transform-id", transform_id)["LabelCount"] == 3


# -- errors -----------------------------------------------------------------------------------


def test_unknown_transform_is_entity_not_found(cli: Cli) -> None:
    error = cli.fails("get-ml-transform", "--transform-id", "tfm-nope")
    assert error["__type"] == "EntityNotFoundException"
    assert "tfm-nope" in error["message"]
    assert cli.fails("wait-ml-task-run", "--transform-id", "tfm-nope", "--task-run-id", "t")["__type"] == (
        "EntityNotFoundException"
    )


@pytest.mark.parametrize(
    ("argv", "member"),
    [
        (["get-ml-transform"], "TransformId"),
        (["list-ml-transforms", "--max-results", "many"], "--max-results"),
        (["list-ml-transforms", "--max-results", "0"], "MaxResults"),
        (["list-ml-transforms", "--sort", "{not json"], "--sort"),
        (["update-ml-transform", "--transform-id", "t", "--max-capacity", "lots"], "--max-capacity"),
        (["create-ml-transform", "--cli-input-json", "{not json"], "--cli-input-json"),
        (["create-ml-transform", "--cli-input-json", "[1, 2]"], "--cli-input-json"),
        (
            ["create-ml-transform", "--name", "n", "--role", "r", "--input-record-tables", TABLES],
            "Parameters",
        ),
        (["get-ml-task-runs", "--transform-id", "t", "--filter", '{"StartedAfter": "soon"}'], "StartedAfter"),
    ],
)
def test_invalid_input(cli: Cli, argv: list[str], member: str) -> None:
    error = cli.fails(*argv)
    assert error["__type"] == "InvalidInputException"
    assert member in error["message"]


def test_duplicate_name_is_already_exists(cli: Cli) -> None:
    create(cli, "twin")
    assert (
        cli.fails(
            "create-ml-transform",
            "--name",
            "twin",
            "--role",
            "r",
            "--input-record-tables",
            TABLES,
            "--parameters",
            PARAMETERS,
        )["__type"]
        == "AlreadyExistsException"
    )


def test_start_error_paths_never_launch(cli: Cli, state: Settings) -> None:
    start = ["start-ml-labeling-set-generation-task-run", "--output-s3-path", "s3://labeling-bucket/out/"]
    assert cli.fails(*start, "--transform-id", "tfm-nope")["__type"] == "EntityNotFoundException"

    transform_id = create(cli)
    error = cli.fails("start-ml-labeling-set-generation-task-run", "--transform-id", transform_id,
                      "--output-s3-path", "http://x")  # fmt: skip
    assert error["__type"] == "InvalidInputException" and "OutputS3Path" in error["message"]

    for index in range(3):
        admit_run(state, transform_id, f"tsk-{index}")
    assert cli.fails(*start, "--transform-id", transform_id)["__type"] == "ConcurrentRunsExceededException"
    assert len(TaskRunLedger(state).runs_of(transform_id)) == 3
    assert not state.logs_dir.exists()  # nothing was launched


def test_cli_input_json_from_a_missing_file_is_a_clean_error(cli: Cli, tmp_path: Path) -> None:
    try:
        code, out, err = cli("create-ml-transform", "--cli-input-json", f"file://{tmp_path / 'missing.json'}")
    except SystemExit as exit_:  # a usage error (exit 2) is a clean error too
        code, out, err = exit_.code, None, cli.capsys.readouterr().err
    assert code in (2, SERVICE_ERROR_EXIT)
    assert out is None
    assert "missing.json" in err


# -- the installed console script -------------------------------------------------------------


def test_console_script_exit_code_and_error_json(state: Settings) -> None:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
    environment.update(
        {
            ENV_PREFIX + "CONF": os.environ[ENV_PREFIX + "CONF"],
            ENV_PREFIX + "STATE_DIR": state.state_dir,
            ENV_PREFIX + "CATALOG_URI": state.catalog_uri,
        }
    )
    completed = subprocess.run(  # the real entry point, as a user runs it
        [str(CONSOLE_SCRIPT), "get-ml-transform", "--transform-id", "tfm-nope"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 254, completed.stderr
    assert completed.stdout == ""
    error = json.loads(completed.stderr)
    assert error["__type"] == "EntityNotFoundException"
    assert "tfm-nope" in error["message"]
