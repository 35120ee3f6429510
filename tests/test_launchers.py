"""The EMR, EMR Serverless and Glue launchers against moto, and the job's argument parsing.

botocore validates every request against the service model (members, types, required members;
not enum values, which the tests check themselves) and moto keeps what it was sent, so a start
is checked by reading the step or job run back. moto does not move runs between states, so the
tests set the state in moto's backend and read it through the launcher (every state of
botocore's enum). moto has no CancelSteps or BatchStopJobRun: those calls are still validated by
botocore, then answered by a hook that records them. No Spark, no network.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.emr.models import emr_backends
from moto.emrserverless.models import emrserverless_backends
from moto.glue.models import glue_backends
from moto.moto_api import state_manager

from glue_labeling.job import parse_arguments
from glue_labeling.launcher import LocalLauncher, launcher_for
from glue_labeling.launchers.emr import EmrStepLauncher
from glue_labeling.launchers.emr_serverless import EmrServerlessLauncher
from glue_labeling.launchers.glue import GlueJobLauncher
from glue_labeling.launchers.job_arguments import export_settings_arguments
from glue_labeling.launchers.remote import REMOTE_STATE_DIR, TASK_RUN_VIEWS, RemoteLauncher
from glue_labeling.ledger import RUNNING, utc_now
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import ENV_PREFIX, Settings, load_settings
from glue_labeling.spark import JOB_SPARK_CONF

REGION = "us-east-1"
JOB = "labeling_set_generation.py"
ARGUMENTS = {"task-run-id": "tsk-1", "transform-id": "tfm-1"}
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/labeling-job"
SCRIPT = "s3://labeling/bundle/jobs/labeling_set_generation.py"
SIMILARITY_JAR_URI = "s3://labeling/bundle/jars/glue-labeling-similarity.jar"
# What the job on the platform must load, and nothing else.
REMOTE_VARIABLES = {
    "GLUE_LABELING_LEDGER_URI": "s3://labeling/control/ledger",
    "GLUE_LABELING_REGISTRY_URI": "s3://labeling/control/registry",
    "GLUE_LABELING_CATALOG_URI": "s3a://labeling/control/catalog",
    "GLUE_LABELING_LABELS_URI": "s3://labeling/control/labels",
    "GLUE_LABELING_OPERATION_TIMEOUT_SECONDS": "20.0",
    "GLUE_LABELING_STATE_DIR": REMOTE_STATE_DIR,
}
LAUNCHERS: dict[str, type[RemoteLauncher]] = {
    "emr": EmrStepLauncher,
    "emr-serverless": EmrServerlessLauncher,
    "glue": GlueJobLauncher,
}
# Where botocore models each launcher's state enum.
STATE_ENUMS = {
    "emr": ("emr", "StepState"),
    "emr-serverless": ("emr-serverless", "JobRunState"),
    "glue": ("glue", "JobRunState"),
}


def remote_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings a remote launcher accepts; the local-only ones hold values that must not travel."""
    base = Settings(
        state_dir=str(tmp_path / "state"),
        ledger_uri=REMOTE_VARIABLES["GLUE_LABELING_LEDGER_URI"],
        registry_uri=REMOTE_VARIABLES["GLUE_LABELING_REGISTRY_URI"],
        catalog_uri=REMOTE_VARIABLES["GLUE_LABELING_CATALOG_URI"],
        labels_uri=REMOTE_VARIABLES["GLUE_LABELING_LABELS_URI"],
        s3_access_key="local-access-key",
        s3_secret_key="local-secret-key",
        aws_region=REGION,
        job_bundle_uri="s3://labeling/bundle/",
        emr_cluster_id="j-CLUSTER",
        emr_serverless_application_id="00application",
        emr_serverless_execution_role_arn=ROLE,
        glue_job_name="labeling",
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def job_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GLUE_LABELING_* variable and no settings file, as on a fresh platform node; whatever a
    test puts into os.environ under those names is removed afterwards."""
    monkeypatch.setenv(ENV_PREFIX + "CONF", str(tmp_path / "no-settings-file.toml"))
    for field in dataclasses.fields(Settings):
        monkeypatch.setenv(ENV_PREFIX + field.name.upper(), "")
        monkeypatch.delenv(ENV_PREFIX + field.name.upper())


def intercept(client: Any, operation: str, response: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer `operation` with `response` after botocore validated the request (moto does not
    implement it); return the list the request parameters are recorded in."""
    service = client.meta.service_model.service_id.hyphenize()
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        f"before-parameter-build.{service}.{operation}", lambda params, **_: calls.append(dict(params))
    )
    client.meta.events.register(
        f"before-call.{service}.{operation}", lambda **_: (AWSResponse("https://aws.test", 200, {}, None), response)
    )
    return calls


def record(client: Any, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of each `operation` call, which then goes on to moto."""
    service = client.meta.service_model.service_id.hyphenize()
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        f"before-parameter-build.{service}.{operation}", lambda params, **_: calls.append(dict(params))
    )
    return calls


def botocore_states(name: str) -> list[str]:
    """The state enum botocore's model gives for launcher `name`'s runs."""
    service, shape = STATE_ENUMS[name]
    return botocore.session.get_session().get_service_model(service).shape_for(shape).enum


def expected_views(launcher: type[RemoteLauncher], state: str) -> tuple[bool, str | None]:
    """is_alive and final_status as the mapping says they must be for `state`."""
    view = launcher.states[state]
    return view == RUNNING, (None if view == RUNNING else view)


# -- the state mappings ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_every_platform_state_in_botocore_is_mapped(name: str) -> None:
    """A state AWS adds to the model (and botocore ships) fails here until it is mapped."""
    assert set(LAUNCHERS[name].states) == set(botocore_states(name))
    assert set(LAUNCHERS[name].states.values()) <= TASK_RUN_VIEWS
    assert RUNNING in LAUNCHERS[name].states.values()


def test_the_mappings_read_as_aws_documents_them() -> None:
    assert EmrStepLauncher.states["COMPLETED"] == "SUCCEEDED"
    assert EmrStepLauncher.states["CANCELLED"] == "STOPPED"
    assert EmrStepLauncher.states["CANCEL_PENDING"] == RUNNING
    assert EmrServerlessLauncher.states["SUCCESS"] == "SUCCEEDED"
    assert EmrServerlessLauncher.states["CANCELLING"] == RUNNING
    assert GlueJobLauncher.states["TIMEOUT"] == "TIMEOUT"
    assert GlueJobLauncher.states["STOPPING"] == RUNNING
    assert GlueJobLauncher.states["ERROR"] == "FAILED"


# -- settings and the factory ------------------------------------------------------------------


def test_launcher_for_builds_all_four(tmp_path: Path) -> None:
    assert isinstance(launcher_for(Settings(state_dir=str(tmp_path))), LocalLauncher)
    for name, launcher_class in LAUNCHERS.items():
        launcher = launcher_for(remote_settings(tmp_path, launcher=name))
        assert isinstance(launcher, launcher_class)
        assert launcher.name == name
    with pytest.raises(ValueError, match="choose one of local, emr, emr-serverless, glue"):
        launcher_for(remote_settings(tmp_path, launcher="yarn"))


def test_the_local_launcher_keeps_no_verdict(tmp_path: Path) -> None:
    assert LocalLauncher(Settings(state_dir=str(tmp_path))).final_status("otherhost:1:2") is None


def test_settings_load_from_the_environment_with_local_defaults(tmp_path: Path) -> None:
    environ = {
        ENV_PREFIX + "CONF": str(tmp_path / "none.toml"),
        "GLUE_LABELING_LAUNCHER": "emr",
        "GLUE_LABELING_EMR_CLUSTER_ID": "j-1",
        "GLUE_LABELING_JOB_BUNDLE_URI": "s3://b/bundle",
    }
    settings = load_settings(environ)
    assert (settings.launcher, settings.emr_cluster_id, settings.job_bundle_uri) == ("emr", "j-1", "s3://b/bundle")
    defaults = load_settings({ENV_PREFIX + "CONF": str(tmp_path / "none.toml")})
    assert defaults.launcher == "local" and defaults.aws_region == "" and defaults.glue_job_name == ""


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("emr", "emr_cluster_id"),
        ("emr", "job_bundle_uri"),
        ("emr-serverless", "emr_serverless_application_id"),
        ("emr-serverless", "emr_serverless_execution_role_arn"),
        ("glue", "glue_job_name"),
    ],
)
def test_a_remote_launcher_refuses_missing_settings(tmp_path: Path, name: str, missing: str) -> None:
    with pytest.raises(ValueError, match=f"{missing} is not set"):
        LAUNCHERS[name](remote_settings(tmp_path, **{missing: ""}))


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_a_remote_launcher_refuses_tables_on_this_machine(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="ledger_uri must be an s3:// URI"):
        LAUNCHERS[name](remote_settings(tmp_path, ledger_uri=""))
    with pytest.raises(ValueError, match="catalog_uri must be an s3:// URI"):
        LAUNCHERS[name](remote_settings(tmp_path, catalog_uri=str(tmp_path / "catalog")))
    with pytest.raises(ValueError, match="labels_uri must be an s3:// URI"):
        LAUNCHERS[name](remote_settings(tmp_path, labels_uri=""))
    with pytest.raises(ValueError, match="s3_endpoint must be empty"):
        LAUNCHERS[name](remote_settings(tmp_path, s3_endpoint="http://127.0.0.1:9000"))


def test_emr_serverless_refuses_settings_with_white_space(tmp_path: Path) -> None:
    """sparkSubmitParameters is one string: a space in a value would split it."""
    with pytest.raises(ValueError, match="without white space"):
        EmrServerlessLauncher(remote_settings(tmp_path, ledger_uri="s3://labeling/my ledger"))


# -- handles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_handles_of_other_launchers_are_left_alone(tmp_path: Path, name: str) -> None:
    """A run started before the launcher setting changed: unknowable, never failed, never cancelled."""
    launcher = LAUNCHERS[name](remote_settings(tmp_path), client=object())  # any AWS call would raise
    others = ["myhost:4242:1234", *(f"{other}:a:b" for other in LAUNCHERS if other != name)]
    for handle in others:
        assert launcher.parse_handle(handle) is None
        assert launcher.is_alive(handle) is None
        assert launcher.final_status(handle) is None
        launcher.stop(handle, force=True)


def test_handle_round_trip_keeps_colons_in_a_glue_job_name(tmp_path: Path) -> None:
    launcher = GlueJobLauncher(remote_settings(tmp_path))
    assert launcher.parse_handle("glue:team:labeling:jr_abc") == ("team:labeling", "jr_abc")
    assert EmrStepLauncher(remote_settings(tmp_path)).parse_handle("emr:j-1:s-2") == ("j-1", "s-2")
    serverless = EmrServerlessLauncher(remote_settings(tmp_path))
    assert serverless.parse_handle("emr-serverless:00app:00run") == ("00app", "00run")
    assert serverless.parse_handle("emr-serverless:no-run-id") is None


def test_an_unreadable_state_is_unknown_not_failed(tmp_path: Path) -> None:
    """Throttling or a network failure must not make the reconciler fail a live run."""
    client = boto3.client("emr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    launcher = EmrStepLauncher(remote_settings(tmp_path), client=client)
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_step", service_error_code="ThrottlingException", http_status_code=400)
        assert launcher.is_alive("emr:j-1:s-1") is None
        stubber.add_response("describe_step", {"Step": {"Status": {"State": "SOMETHING_NEW"}}})
        assert launcher.is_alive("emr:j-1:s-1") is None
        stubber.add_response("describe_step", {"Step": {"Status": {"State": "SOMETHING_NEW"}}})
        assert launcher.final_status("emr:j-1:s-1") is None


# -- EMR on EC2 --------------------------------------------------------------------------------


def emr_cluster() -> str:
    return boto3.client("emr", region_name=REGION).run_job_flow(
        Name="labeling",
        ReleaseLabel="emr-7.5.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 3,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]


def emr_step(cluster: str, step_id: str) -> Any:
    return next(step for step in emr_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[cluster].steps if step.id == step_id)


def spark_conf(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "--conf")


@pytest.mark.usefixtures("aws")
def test_emr_start_adds_a_cluster_mode_spark_submit_step(tmp_path: Path) -> None:
    cluster = emr_cluster()
    launcher = EmrStepLauncher(remote_settings(tmp_path, emr_cluster_id=cluster))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    kind, cluster_id, step_id = handle.split(":")
    assert (kind, cluster_id) == ("emr", cluster)

    step = boto3.client("emr", region_name=REGION).describe_step(ClusterId=cluster, StepId=step_id)["Step"]
    assert step["Name"] == "glue-labeling tsk-1"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["Config"]["Jar"] == "command-runner.jar"
    args = step["Config"]["Args"]
    assert args[:5] == ["spark-submit", "--deploy-mode", "cluster", "--jars", SIMILARITY_JAR_URI]
    assert args[args.index(SCRIPT) :] == [SCRIPT, "--task-run-id", "tsk-1", "--transform-id", "tfm-1"]
    conf = spark_conf(args[: args.index(SCRIPT)])
    driver = {k.removeprefix("spark.yarn.appMasterEnv."): v for k, v in conf.items() if "appMasterEnv" in k}
    executors = {k.removeprefix("spark.executorEnv."): v for k, v in conf.items() if "executorEnv" in k}
    assert driver == executors == REMOTE_VARIABLES
    assert {key: conf[key] for key in JOB_SPARK_CONF} == JOB_SPARK_CONF
    assert not any("local-secret-key" in arg or "local-access-key" in arg for arg in args)
    assert launcher.is_alive(handle) is True  # moto runs the first step of a cluster at once


@pytest.mark.usefixtures("aws", "job_environment")
def test_the_job_reads_an_emr_steps_arguments_and_environment(tmp_path: Path) -> None:
    """What the step hands spark-submit is what the job parses and loads."""
    cluster = emr_cluster()
    launcher = EmrStepLauncher(remote_settings(tmp_path, emr_cluster_id=cluster))
    step_id = launcher.start("tsk-1", JOB, ARGUMENTS).rsplit(":", 1)[1]
    args = emr_step(cluster, step_id).args
    driver_env = {k.removeprefix("spark.yarn.appMasterEnv."): v for k, v in spark_conf(args).items()}
    parsed = parse_arguments(args[args.index(SCRIPT) + 1 :])
    assert (parsed.task_run_id, parsed.transform_id) == ("tsk-1", "tfm-1")
    settings = load_settings({**os.environ, **driver_env})
    assert settings.ledger_location == REMOTE_VARIABLES["GLUE_LABELING_LEDGER_URI"]
    assert settings.catalog_location == REMOTE_VARIABLES["GLUE_LABELING_CATALOG_URI"]
    assert settings.state_dir == REMOTE_STATE_DIR


@pytest.mark.usefixtures("aws")
def test_emr_maps_every_step_state(tmp_path: Path) -> None:
    cluster = emr_cluster()
    launcher = EmrStepLauncher(remote_settings(tmp_path, emr_cluster_id=cluster))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    step = emr_step(cluster, handle.rsplit(":", 1)[1])
    for state in botocore_states("emr"):
        step.state = state
        assert (launcher.is_alive(handle), launcher.final_status(handle)) == expected_views(EmrStepLauncher, state)
    step.state = "FAILED"
    step.last_state_change_reason = "Step failed with exitCode 1"
    assert launcher.describe(handle).message == "Step failed with exitCode 1"  # type: ignore[union-attr]


@pytest.mark.usefixtures("aws")
def test_emr_stop_cancels_the_step(tmp_path: Path) -> None:
    cluster = emr_cluster()
    launcher = EmrStepLauncher(remote_settings(tmp_path, emr_cluster_id=cluster))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    step_id = handle.rsplit(":", 1)[1]
    calls = intercept(
        launcher.client, "CancelSteps", {"CancelStepsInfoList": [{"StepId": step_id, "Status": "SUBMITTED"}]}
    )
    launcher.stop(handle)
    launcher.stop(handle, force=True)
    assert calls == [
        {"ClusterId": cluster, "StepIds": [step_id], "StepCancellationOption": "SEND_INTERRUPT"},
        {"ClusterId": cluster, "StepIds": [step_id], "StepCancellationOption": "TERMINATE_PROCESS"},
    ]
    options = botocore.session.get_session().get_service_model("emr").shape_for("StepCancellationOption").enum
    assert {call["StepCancellationOption"] for call in calls} <= set(options)
    emr_step(cluster, step_id).state = "COMPLETED"
    launcher.stop(handle, force=True)  # over already: nothing to cancel
    assert len(calls) == 2


# -- EMR Serverless ----------------------------------------------------------------------------


def serverless_application() -> str:
    client = boto3.client("emr-serverless", region_name=REGION)
    return client.create_application(name="labeling", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]


def serverless_run(application: str, run_id: str) -> Any:
    runs = emrserverless_backends[DEFAULT_ACCOUNT_ID][REGION].job_runs[application]
    return next(run for run in runs if run.id == run_id)


@pytest.mark.usefixtures("aws")
def test_emr_serverless_start_submits_a_spark_job_run(tmp_path: Path) -> None:
    application = serverless_application()
    settings = remote_settings(
        tmp_path, emr_serverless_application_id=application, emr_serverless_log_uri="s3://labeling/logs/"
    )
    launcher = EmrServerlessLauncher(settings)
    calls = record(launcher.client, "StartJobRun")
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    kind, application_id, run_id = handle.split(":")
    assert (kind, application_id) == ("emr-serverless", application)
    assert calls[0]["clientToken"] == "tsk-1"  # a retried start cannot start the run twice

    job_run = boto3.client("emr-serverless", region_name=REGION).get_job_run(
        applicationId=application, jobRunId=run_id
    )["jobRun"]
    assert job_run["name"] == "glue-labeling tsk-1"
    assert job_run["executionRole"] == ROLE
    submit = job_run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == SCRIPT
    assert submit["entryPointArguments"] == ["--task-run-id", "tsk-1", "--transform-id", "tfm-1"]
    options = submit["sparkSubmitParameters"].split()
    assert options[:2] == ["--jars", SIMILARITY_JAR_URI]
    options = options[2:]
    assert options[0::2] == ["--conf"] * (len(options) // 2)
    conf = dict(option.split("=", 1) for option in options[1::2])
    driver = {k.removeprefix("spark.emr-serverless.driverEnv."): v for k, v in conf.items() if "driverEnv" in k}
    executors = {k.removeprefix("spark.executorEnv."): v for k, v in conf.items() if "executorEnv" in k}
    assert driver == executors == REMOTE_VARIABLES
    assert {key: conf[key] for key in JOB_SPARK_CONF} == JOB_SPARK_CONF
    assert job_run["configurationOverrides"] == {
        "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://labeling/logs/"}}
    }


@pytest.mark.usefixtures("aws")
def test_emr_serverless_maps_every_job_run_state(tmp_path: Path) -> None:
    application = serverless_application()
    launcher = EmrServerlessLauncher(remote_settings(tmp_path, emr_serverless_application_id=application))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    job_run = serverless_run(application, handle.rsplit(":", 1)[1])
    for state in botocore_states("emr-serverless"):
        job_run.state = state
        assert (launcher.is_alive(handle), launcher.final_status(handle)) == expected_views(
            EmrServerlessLauncher, state
        )
    job_run.state, job_run.state_details = "FAILED", "Job failed, ExitCode: 1"
    assert launcher.describe(handle).message == "Job failed, ExitCode: 1"  # type: ignore[union-attr]
    # A run EMR Serverless does not know is over, its outcome unknown: FAILED.
    gone = f"emr-serverless:{application}:00nosuchrun"
    assert (launcher.is_alive(gone), launcher.final_status(gone)) == (False, "FAILED")


@pytest.mark.usefixtures("aws")
def test_emr_serverless_stop_cancels_the_job_run(tmp_path: Path) -> None:
    application = serverless_application()
    launcher = EmrServerlessLauncher(remote_settings(tmp_path, emr_serverless_application_id=application))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    run_id = handle.rsplit(":", 1)[1]
    calls = record(launcher.client, "CancelJobRun")
    serverless_run(application, run_id).state = "RUNNING"
    launcher.stop(handle, force=True)
    assert calls == [{"applicationId": application, "jobRunId": run_id, "shutdownGracePeriodInSeconds": 0}]
    assert (launcher.is_alive(handle), launcher.final_status(handle)) == (False, "STOPPED")  # moto cancels at once
    serverless_run(application, run_id).state = "RUNNING"
    launcher.stop(handle)
    assert calls[1] == {"applicationId": application, "jobRunId": run_id}
    launcher.stop(handle)  # CANCELLED now: nothing to cancel
    assert len(calls) == 2


# -- Glue --------------------------------------------------------------------------------------


@pytest.fixture
def glue_job(aws: None) -> Iterator[str]:
    """A Glue job as the operator creates it; moto's runs stay in the state a test sets."""
    boto3.client("glue", region_name=REGION).create_job(
        Name="labeling",
        Role=ROLE,
        Command={"Name": "glueetl", "ScriptLocation": SCRIPT, "PythonVersion": "3"},
        GlueVersion="5.0",
        ExecutionProperty={"MaxConcurrentRuns": 10},
        DefaultArguments={"--datalake-formats": "delta", "--enable-metrics": ""},
    )
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 10**9})
    try:
        yield "labeling"
    finally:
        state_manager.unset_transition("glue::job_run")


def glue_run(job_name: str, run_id: str) -> Any:
    runs = glue_backends[DEFAULT_ACCOUNT_ID][REGION].jobs[job_name].job_runs
    return next(run for run in runs if run.job_run_id == run_id)


def test_glue_start_passes_the_run_and_the_settings_as_job_arguments(tmp_path: Path, glue_job: str) -> None:
    launcher = GlueJobLauncher(remote_settings(tmp_path, glue_job_name=glue_job))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    kind, job_name, run_id = handle.split(":")
    assert (kind, job_name) == ("glue", glue_job)
    job_run = boto3.client("glue", region_name=REGION).get_job_run(JobName=glue_job, RunId=run_id)["JobRun"]
    assert job_run["Arguments"] == {
        "--datalake-formats": "delta",  # the job's defaults stay
        "--enable-metrics": "",
        "--task-run-id": "tsk-1",
        "--transform-id": "tfm-1",
        **{f"--{variable}": value for variable, value in REMOTE_VARIABLES.items()},
    }
    assert launcher.is_alive(handle) is True


@pytest.mark.usefixtures("job_environment")
def test_the_job_reads_a_glue_runs_arguments(tmp_path: Path, glue_job: str) -> None:
    """Glue hands the script its arguments plus its own, some as bare flags; the job finds its
    two, and its settings in the environment."""
    launcher = GlueJobLauncher(remote_settings(tmp_path, glue_job_name=glue_job))
    run_id = launcher.start("tsk-1", JOB, ARGUMENTS).rsplit(":", 1)[1]
    argv = ["--JOB_ID", "j_0123", "--JOB_RUN_ID", run_id]
    for key, value in glue_run(glue_job, run_id).arguments.items():
        argv += [key, value] if value else [key]
    argv += ["--JOB_NAME", glue_job, "--TempDir", "s3://aws-glue-temporary/labeling"]
    parsed = parse_arguments(argv)
    assert (parsed.task_run_id, parsed.transform_id) == ("tsk-1", "tfm-1")
    assert {k: v for k, v in os.environ.items() if k in REMOTE_VARIABLES} == REMOTE_VARIABLES
    settings = load_settings()
    assert settings.ledger_location == REMOTE_VARIABLES["GLUE_LABELING_LEDGER_URI"]
    assert settings.registry_location == REMOTE_VARIABLES["GLUE_LABELING_REGISTRY_URI"]
    assert settings.operation_timeout_seconds == 20.0


def test_glue_maps_every_job_run_state(tmp_path: Path, glue_job: str) -> None:
    launcher = GlueJobLauncher(remote_settings(tmp_path, glue_job_name=glue_job))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    job_run = glue_run(glue_job, handle.rsplit(":", 1)[1])
    for state in botocore_states("glue"):
        job_run.status = state
        assert (launcher.is_alive(handle), launcher.final_status(handle)) == expected_views(GlueJobLauncher, state)
    # A job deleted behind the launcher's back takes its runs with it.
    boto3.client("glue", region_name=REGION).delete_job(JobName=glue_job)
    assert (launcher.is_alive(handle), launcher.final_status(handle)) == (False, "FAILED")


def test_glue_stop_stops_the_job_run(tmp_path: Path, glue_job: str) -> None:
    launcher = GlueJobLauncher(remote_settings(tmp_path, glue_job_name=glue_job))
    handle = launcher.start("tsk-1", JOB, ARGUMENTS)
    run_id = handle.rsplit(":", 1)[1]
    calls = intercept(
        launcher.client, "BatchStopJobRun", {"SuccessfulSubmissions": [{"JobName": glue_job, "JobRunId": run_id}]}
    )
    launcher.stop(handle)
    launcher.stop(handle, force=True)  # Glue has one way to stop
    assert calls == [{"JobName": glue_job, "JobRunIds": [run_id]}] * 2
    glue_run(glue_job, run_id).status = "STOPPED"
    launcher.stop(handle)
    assert len(calls) == 2


# -- the job's arguments -----------------------------------------------------------------------


def test_glue_style_settings_arguments_go_to_the_environment() -> None:
    environ = {"GLUE_LABELING_LEDGER_URI": "s3://old/ledger", "PATH": "/bin"}
    rest = export_settings_arguments(
        [
            "--JOB_NAME",
            "labeling",
            "--GLUE_LABELING_LEDGER_URI",
            "s3://new/ledger",
            "--task-run-id",
            "tsk-1",
            "--GLUE_LABELING_STATE_DIR=/tmp/x",
            "--GLUE_LABELING_S3_ENDPOINT",
            "--enable-metrics",
            "--transform-id",
            "tfm-1",
            "--GLUE_LABELING_CATALOG_URI",
        ],
        environ,
    )
    assert rest == ["--JOB_NAME", "labeling", "--task-run-id", "tsk-1", "--enable-metrics", "--transform-id", "tfm-1"]
    assert environ == {
        "PATH": "/bin",
        "GLUE_LABELING_LEDGER_URI": "s3://new/ledger",  # the run's argument wins
        "GLUE_LABELING_STATE_DIR": "/tmp/x",
        "GLUE_LABELING_S3_ENDPOINT": "",
        "GLUE_LABELING_CATALOG_URI": "",
    }


def test_spark_submit_style_arguments_pass_through_untouched() -> None:
    environ: dict[str, str] = {}
    argv = ["--task-run-id", "tsk-1", "--transform-id", "tfm-1"]
    assert export_settings_arguments(argv, environ) == argv
    assert environ == {}


@pytest.mark.usefixtures("job_environment")
def test_the_job_parses_both_styles() -> None:
    plain = parse_arguments(["--task-run-id", "tsk-1", "--transform-id", "tfm-1"])
    assert (plain.task_run_id, plain.transform_id) == ("tsk-1", "tfm-1")
    glue = parse_arguments(
        ["--JOB_NAME", "x", "--transform-id", "tfm-2", "--GLUE_LABELING_LEDGER_URI", "s3://b/l", "--task-run-id", "t2"]
    )
    assert (glue.task_run_id, glue.transform_id) == ("t2", "tfm-2")
    assert os.environ["GLUE_LABELING_LEDGER_URI"] == "s3://b/l"
    with pytest.raises(SystemExit):
        parse_arguments(["--task-run", "tsk-1", "--transform-id", "tfm-1"])  # no abbreviations


@pytest.mark.parametrize(
    ("platform_state", "status", "error"),
    [
        ("STOPPED", "STOPPED", "stopped on the platform"),
        ("TIMEOUT", "TIMEOUT", "time limit"),
        ("FAILED", "FAILED", "ended without reporting"),
        ("SUCCEEDED", "FAILED", "ended without reporting"),  # success is the job's own word, with figures
    ],
)
def test_the_sweeper_settles_a_run_by_the_platforms_verdict(
    tmp_path: Path, glue_job: str, platform_state: str, status: str, error: str
) -> None:
    launcher = GlueJobLauncher(remote_settings(tmp_path, glue_job_name=glue_job))
    # The control plane's ledger stays local here: delta-rs cannot reach moto's in-process mock.
    service = GlueLabelingService(Settings(state_dir=str(tmp_path / "control")), launcher=launcher)
    now = utc_now()
    service.ledger.admit(
        {
            "task_run_id": "tsk-1",
            "transform_id": "tfm-1",
            "task_type": "LABELING_SET_GENERATION",
            "status": "RUNNING",
            "started_on": now,
            "last_modified_on": now,
            "timeout_minutes": 60,
        },
        limit=3,
        launch=lambda: launcher.start("tsk-1", JOB, ARGUMENTS),
    )
    handle = service.ledger.get("tsk-1")["launcher_handle"]
    service.reconcile("tfm-1")
    assert service.ledger.get("tsk-1")["status"] == "RUNNING"  # the platform still runs it
    glue_run(glue_job, handle.rsplit(":", 1)[1]).status = platform_state
    service.reconcile("tfm-1")
    settled = service.ledger.get("tsk-1")
    assert settled["status"] == status and error in settled["error_string"]
