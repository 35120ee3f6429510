"""The deploy: the wheel, the bundle on S3, the Glue job, and the settings it prints, which
must be what the launchers accept and run. Glue, EMR and S3 in this process with moto (every
request validated by botocore); scripts/deploy.py itself against the S3 server in its own process.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from moto.core import DEFAULT_ACCOUNT_ID

from glue_labeling.deploy import (
    GLUE_SPARK_CONF,
    PLACEHOLDERS,
    TARGETS,
    Bundle,
    GlueJobSpec,
    build_wheel,
    bundle_files,
    deploy_glue_job,
    launcher_settings,
    render_settings,
    split_s3_uri,
    upload_bundle,
)
from glue_labeling.launcher import launcher_for
from glue_labeling.launchers.emr import SIMILARITY_JAR
from glue_labeling.settings import ENV_PREFIX, PROJECT_ROOT, load_settings
from glue_labeling.spark import JOB_SPARK_CONF

REGION = "us-east-1"
BUNDLE_URI = "s3://deploys/glue-labeling/bundle"
STATE_URI = "s3://deploys/glue-labeling/state"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/glue-labeling-job"
# What the bundle holds besides the wheel: every file of jobs/ and conf/.
PROJECT_FILES = {
    f"{folder}/{path.name}"
    for folder in ("jobs", "conf")
    for path in (PROJECT_ROOT / folder).iterdir()
    if path.is_file()
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def bundle(aws: None, wheel: Path) -> Bundle:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="deploys")
    similarity_jar = Path(load_settings().jars_dir) / SIMILARITY_JAR
    return upload_bundle(boto3.client("s3", region_name=REGION), BUNDLE_URI, bundle_files(wheel, similarity_jar))


def wheel_metadata(wheel: Path) -> tuple[set[str], list[str]]:
    """(the files in the wheel, its Requires-Dist lines)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    return names, metadata.get_all("Requires-Dist") or []


def test_the_wheel_holds_the_package_and_leaves_spark_to_the_platform(wheel: Path) -> None:
    assert wheel.name.startswith("glue_labeling-") and wheel.name.endswith("-py3-none-any.whl")
    names, requirements = wheel_metadata(wheel)
    for module in ("__init__", "service", "deploy", "launchers/job_arguments", "pipeline/run", "contract/__init__"):
        assert f"glue_labeling/{module}.py" in names
    assert not any("__pycache__" in name or name.startswith(("tests/", "jobs/")) for name in names)
    assert any(requirement.startswith("deltalake") for requirement in requirements)
    spark_requirements = [r for r in requirements if r.startswith(("pyspark", "delta-spark"))]
    assert spark_requirements and all('extra == "spark"' in r for r in spark_requirements)


def test_the_bundle_is_uploaded_under_the_prefix(bundle: Bundle, wheel: Path, tmp_path: Path) -> None:
    prefix = "glue-labeling/bundle/"
    uploaded = (*PROJECT_FILES, f"wheels/{wheel.name}", f"jars/{SIMILARITY_JAR}")
    assert set(bundle.keys) == {prefix + key for key in uploaded}
    s3 = boto3.client("s3", region_name=REGION)
    listed = {item["Key"] for item in s3.list_objects_v2(Bucket="deploys", Prefix=prefix)["Contents"]}
    assert listed == set(bundle.keys)
    assert bundle.uri == BUNDLE_URI
    assert bundle.script_uri == f"{BUNDLE_URI}/jobs/labeling_set_generation.py"
    assert bundle.wheel_uri == f"{BUNDLE_URI}/wheels/{wheel.name}"
    script = s3.get_object(Bucket="deploys", Key=prefix + "jobs/labeling_set_generation.py")["Body"].read()
    assert script == (PROJECT_ROOT / "jobs" / "labeling_set_generation.py").read_bytes()
    downloaded = tmp_path / wheel.name
    s3.download_file("deploys", prefix + f"wheels/{wheel.name}", str(downloaded))
    assert wheel_metadata(downloaded) == wheel_metadata(wheel)


def test_s3_uris_are_checked() -> None:
    assert split_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    for wrong in ("s3a://bucket/a", "/local/path", "s3:///a"):
        with pytest.raises(ValueError, match="is not an s3://bucket/prefix URI"):
            split_s3_uri(wrong)


def test_the_glue_job_runs_the_bundles_script_with_delta_and_the_wheel(bundle: Bundle) -> None:
    glue = boto3.client("glue", region_name=REGION)
    assert deploy_glue_job(glue, GlueJobSpec(name="glue-labeling", role_arn=ROLE), bundle) == "created"
    job = glue.get_job(JobName="glue-labeling")["Job"]
    assert job["Role"] == ROLE
    assert job["Command"] == {"Name": "glueetl", "ScriptLocation": bundle.script_uri, "PythonVersion": "3"}
    assert job["GlueVersion"] == "5.0"
    assert (job["WorkerType"], job["NumberOfWorkers"], job["ExecutionProperty"]) == (
        "G.1X",
        2,
        {"MaxConcurrentRuns": 10},
    )
    assert job["DefaultArguments"] == {
        "--job-language": "python",
        "--datalake-formats": "delta",
        "--conf": GLUE_SPARK_CONF,
        "--additional-python-modules": bundle.wheel_uri,
        "--extra-jars": f"{BUNDLE_URI}/jars/glue-labeling-similarity.jar",
    }
    # Glue takes one --conf: the other settings ride in its value, as spark-submit reads it.
    conf = dict(setting.split("=", 1) for setting in job["DefaultArguments"]["--conf"].split(" --conf "))
    assert conf == {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        **JOB_SPARK_CONF,
    }


def emulate_update_job(glue: Any) -> list[dict[str, Any]]:
    """moto has no UpdateJob. After botocore validated the request, do what AWS documents (the
    job's whole definition is replaced by JobUpdate) with moto's DeleteJob and CreateJob;
    return the list the requests are recorded in."""
    updates: list[dict[str, Any]] = []
    moto_glue = boto3.client("glue", region_name=REGION)

    def replace_the_definition(**_: Any) -> tuple[AWSResponse, dict[str, str]]:
        name, definition = updates[-1]["JobName"], updates[-1]["JobUpdate"]
        moto_glue.delete_job(JobName=name)
        moto_glue.create_job(Name=name, **definition)
        return AWSResponse("https://aws.test", 200, {}, None), {"JobName": name}

    glue.meta.events.register("before-parameter-build.glue.UpdateJob", lambda params, **_: updates.append(params))
    glue.meta.events.register("before-call.glue.UpdateJob", replace_the_definition)
    return updates


def test_a_second_deploy_updates_the_glue_job_and_keeps_the_operators_arguments(bundle: Bundle) -> None:
    glue = boto3.client("glue", region_name=REGION)
    updates = emulate_update_job(glue)
    deploy_glue_job(glue, GlueJobSpec(name="glue-labeling", role_arn=ROLE), bundle)
    job = glue.get_job(JobName="glue-labeling")["Job"]
    operators_arguments = {**job["DefaultArguments"], "--TempDir": "s3://deploys/tmp/", "--enable-metrics": "true"}
    glue.update_job(
        JobName="glue-labeling",
        JobUpdate={"Role": ROLE, "Command": job["Command"], "DefaultArguments": operators_arguments},
    )
    moved = dataclasses.replace(
        bundle, uri=f"{BUNDLE_URI}-v2", wheel_uri=bundle.wheel_uri.replace(BUNDLE_URI, f"{BUNDLE_URI}-v2")
    )
    update = GlueJobSpec(name="glue-labeling", role_arn="", glue_version="6.0", max_concurrent_runs=30)
    assert deploy_glue_job(glue, update, moved) == "updated"
    assert len(updates) == 2
    job = glue.get_job(JobName="glue-labeling")["Job"]
    assert job["Role"] == ROLE  # no --glue-role-arn on an update: the job keeps its role
    assert job["GlueVersion"] == "6.0"
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 30}
    assert job["Command"]["ScriptLocation"] == moved.script_uri
    assert job["DefaultArguments"] == {
        "--job-language": "python",
        "--datalake-formats": "delta",
        "--conf": GLUE_SPARK_CONF,
        "--additional-python-modules": moved.wheel_uri,
        "--extra-jars": moved.similarity_jar_uri,
        "--TempDir": "s3://deploys/tmp/",
        "--enable-metrics": "true",
    }
    assert [job["Name"] for job in glue.get_jobs()["Jobs"]] == ["glue-labeling"]


def test_creating_the_glue_job_needs_a_role_and_a_known_version(bundle: Bundle) -> None:
    glue = boto3.client("glue", region_name=REGION)
    with pytest.raises(ValueError, match="needs --glue-role-arn"):
        deploy_glue_job(glue, GlueJobSpec(name="glue-labeling", role_arn=""), bundle)
    with pytest.raises(ValueError, match=r"choose one of 5\.0, 5\.1, 6\.0"):
        deploy_glue_job(glue, GlueJobSpec(name="glue-labeling", role_arn=ROLE, glue_version="4.0"), bundle)
    assert glue.get_jobs()["Jobs"] == []


def printed_conf(target: str, bundle: Bundle, directory: Path) -> Path:
    """The conf/glue-labeling.toml lines the deploy prints for `target`, as a settings file."""
    text = render_settings(target, launcher_settings(bundle, STATE_URI, "glue-labeling", REGION)[target], bundle)
    toml_lines = text.split("conf/glue-labeling.toml:\n", 1)[1].split("\nor the environment:", 1)[0]
    conf = directory / f"{target}.toml"
    conf.write_text("".join(line.strip() + "\n" for line in toml_lines.splitlines()))
    return conf


def test_the_printed_settings_make_each_launcher_run_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    """Load the printed lines as the settings file, fill in the placeholders, start a run."""
    deploy_glue_job(boto3.client("glue", region_name=REGION), GlueJobSpec(name="glue-labeling", role_arn=ROLE), bundle)
    cluster = boto3.client("emr", region_name=REGION).run_job_flow(
        Name="labeling",
        ReleaseLabel="emr-7.5.0",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    application = boto3.client("emr-serverless", region_name=REGION).create_application(
        name="labeling", releaseLabel="emr-7.5.0", type="SPARK"
    )["applicationId"]
    fill_ins = {
        "emr": {"emr_cluster_id": cluster},
        "emr-serverless": {"emr_serverless_application_id": application, "emr_serverless_execution_role_arn": ROLE},
        "glue": {},  # the deploy knows the job's name
    }
    scripts = {}
    for target in TARGETS:
        environ = {ENV_PREFIX + "CONF": str(printed_conf(target, bundle, tmp_path))}
        printed = dataclasses.asdict(load_settings(environ))
        assert {name for name, value in printed.items() if str(value).startswith("<")} == set(fill_ins[target])
        environ |= {ENV_PREFIX + name.upper(): value for name, value in fill_ins[target].items()}
        settings = load_settings(environ)
        assert (settings.launcher, settings.aws_region) == (target, REGION)
        assert settings.ledger_location == f"{STATE_URI}/ledger/task_runs"
        handle = launcher_for(settings).start("tsk-1", "labeling_set_generation.py", {"task-run-id": "tsk-1"})
        container, run = handle.split(":", 1)[1].rsplit(":", 1)
        if target == "emr":
            step = boto3.client("emr", region_name=REGION).describe_step(ClusterId=container, StepId=run)["Step"]
            scripts[target] = next(arg for arg in step["Config"]["Args"] if arg.endswith(".py"))
        elif target == "emr-serverless":
            job_run = boto3.client("emr-serverless", region_name=REGION).get_job_run(
                applicationId=container, jobRunId=run
            )["jobRun"]
            scripts[target] = job_run["jobDriver"]["sparkSubmit"]["entryPoint"]
        else:
            glue = boto3.client("glue", region_name=REGION)
            assert glue.get_job_run(JobName=container, RunId=run)["JobRun"]["JobName"] == "glue-labeling"
            scripts[target] = glue.get_job(JobName=container)["Job"]["Command"]["ScriptLocation"]
    assert scripts == dict.fromkeys(TARGETS, bundle.script_uri)


def test_the_environment_lines_name_the_same_settings(bundle: Bundle) -> None:
    for target, values in launcher_settings(bundle, STATE_URI, "glue-labeling", REGION).items():
        text = render_settings(target, values, bundle)
        exports = [line.strip() for line in text.splitlines() if line.strip().startswith("export ")]
        environ = dict(line.removeprefix("export ").replace("'", "").split("=", 1) for line in exports)
        assert environ == {ENV_PREFIX + name.upper(): value for name, value in values.items()}


def test_the_deploy_script_uploads_and_prints_every_launchers_settings(s3_endpoint: str, s3) -> None:
    """scripts/deploy.py as an operator runs it, twice (a redeploy overwrites), against the S3 server."""
    s3.create_bucket(Bucket="script-deploys")
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }
    command = [sys.executable, str(PROJECT_ROOT / "scripts" / "deploy.py"), "s3://script-deploys/bundle/"]
    command += ["--endpoint-url", s3_endpoint, "--state-uri", "s3://script-deploys/state"]
    for _attempt in range(2):
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="script-deploys")["Contents"]}
    uploaded = {f"bundle/{key}" for key in (*PROJECT_FILES, f"jars/{SIMILARITY_JAR}")}
    assert {key for key in keys if not key.startswith("bundle/wheels/")} == uploaded
    assert len([key for key in keys if key.endswith(".whl")]) == 1
    output = done.stdout
    assert f"uploaded {len(PROJECT_FILES) + 2} files to s3://script-deploys/bundle/" in output
    for target, (title, _launcher) in TARGETS.items():
        assert f'== {title}: launcher = "{target}" ==' in output
    assert output.count('job_bundle_uri = "s3://script-deploys/bundle"') == 2  # EMR and EMR Serverless
    assert 'ledger_uri = "s3://script-deploys/state/ledger/task_runs"' in output
    assert 'labels_uri = "s3://script-deploys/state/labels"' in output
    assert f'glue_job_name = "{PLACEHOLDERS["glue_job_name"]}"' in output  # no --glue-job-name given
