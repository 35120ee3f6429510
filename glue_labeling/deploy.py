"""Packaging and deploy for the remote launchers (scripts/deploy.py is the command).

A deploy builds the package's wheel, uploads a job bundle under one S3 prefix, optionally
creates or updates the Glue job, and says which settings make each launcher use the bundle:

    <prefix>/jobs/labeling_set_generation.py   the job script (EMR step, EMR Serverless entry point, Glue script)
    <prefix>/wheels/glue_labeling-<v>-py3-none-any.whl
    <prefix>/conf/...                          the settings file and the scheduler templates

`job_bundle_uri` is the prefix itself: the EMR launchers run <prefix>/jobs/<job>.

The wheel is built from a copy of the sources, so that a `build/` directory left in the work
tree by an earlier build (which may hold modules deleted since) never ends up in it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from glue_labeling.launchers.emr import SIMILARITY_JAR, EmrStepLauncher, job_script_uri, similarity_jar_uri
from glue_labeling.launchers.emr_serverless import EmrServerlessLauncher
from glue_labeling.launchers.glue import GlueJobLauncher
from glue_labeling.launchers.remote import RemoteLauncher
from glue_labeling.ledger import LABELING_SET_GENERATION
from glue_labeling.service import JOB_SCRIPTS
from glue_labeling.settings import ENV_PREFIX, PROJECT_ROOT
from glue_labeling.spark import JOB_SPARK_CONF

# What the wheel is built from (pyproject.toml names README.md as the long description).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "glue_labeling")
# Bundle folders, each uploaded from the project folder of the same name.
BUNDLE_FOLDERS = ("jobs", "conf")
GLUE_VERSIONS = ("5.0", "5.1", "6.0")
# The Glue job's Spark settings: --datalake-formats puts Delta's jars on the classpath, and this
# --conf value (Glue takes one --conf argument, so the other keys ride in its value) turns on
# Delta's SQL extension and catalog, as AWS's Delta Lake page for Glue shows, and sets what every
# job session gets (spark.JOB_SPARK_CONF).
GLUE_SPARK_CONF = " --conf ".join(
    [
        "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
        *[f"{key}={value}" for key, value in JOB_SPARK_CONF.items()],
    ]
)
TARGETS: dict[str, tuple[str, type[RemoteLauncher]]] = {
    "emr": ("EMR on EC2", EmrStepLauncher),
    "emr-serverless": ("EMR Serverless", EmrServerlessLauncher),
    "glue": ("AWS Glue", GlueJobLauncher),
}
# What to fill in for a setting the deploy cannot know: resources that exist apart from it.
PLACEHOLDERS = {
    "emr_cluster_id": "<id of your running EMR cluster, j-...>",
    "emr_serverless_application_id": "<id of your EMR Serverless Spark application>",
    "emr_serverless_execution_role_arn": "<ARN of the job runtime role>",
    "glue_job_name": "<name of the Glue job; deploy with --glue-job-name to create it>",
    "state_uri": "s3://<bucket>/<prefix>",
}


@dataclasses.dataclass(frozen=True)
class Bundle:
    uri: str  # s3://bucket/prefix, no trailing slash: the job_bundle_uri setting
    wheel_uri: str
    keys: tuple[str, ...]  # every object uploaded, bucket-relative

    @property
    def similarity_jar_uri(self) -> str:
        return similarity_jar_uri(self.uri)

    @property
    def script_uri(self) -> str:
        """The Glue job's script: any job script runs any task type (glue_labeling.job), so the
        labeling one stands for all."""
        return job_script_uri(self.uri, JOB_SCRIPTS[LABELING_SET_GENERATION])


@dataclasses.dataclass(frozen=True)
class GlueJobSpec:
    name: str
    role_arn: str  # empty: keep the existing job's role (an update); creating needs one
    glue_version: str = "5.0"
    worker_type: str = "G.1X"
    number_of_workers: int = 2
    # Glue refuses a run beyond this; every transform may have max_concurrent_runs_per_transform
    # runs at once, and all of them are runs of this one job.
    max_concurrent_runs: int = 10


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes at either end) of s3://bucket/prefix."""
    if not uri.startswith("s3://") or not uri[len("s3://") :].split("/", 1)[0]:
        raise ValueError(f"{uri!r} is not an s3://bucket/prefix URI")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def build_wheel(output_dir: Path, project_root: Path = PROJECT_ROOT) -> Path:
    """The package's wheel, built in `output_dir` from a clean copy of the sources, without
    build isolation (the build backend is the `deploy` extra) or dependencies."""
    with tempfile.TemporaryDirectory(prefix="glue-labeling-wheel-") as scratch:
        sources = Path(scratch) / "src"
        sources.mkdir()
        for name in WHEEL_SOURCES:
            source = project_root / name
            if source.is_dir():
                shutil.copytree(source, sources / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy2(source, sources / name)
        wheels = Path(scratch) / "wheels"
        pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        subprocess.run([*pip_wheel, "--wheel-dir", str(wheels), str(sources)], check=True)
        (wheel,) = wheels.glob("*.whl")
        output_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheel, output_dir / wheel.name))


def bundle_files(wheel: Path, similarity_jar: Path, project_root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Bundle-relative key -> local file: the job scripts, the settings and templates, the wheel
    and the JVM similarity functions (built by scripts/setup.sh into the jars directory)."""
    if not similarity_jar.is_file():
        raise FileNotFoundError(f"{similarity_jar} is missing: run scripts/setup.sh, which builds it")
    files = {f"wheels/{wheel.name}": wheel, f"jars/{SIMILARITY_JAR}": similarity_jar}
    for folder in BUNDLE_FOLDERS:
        for path in sorted((project_root / folder).iterdir()):
            if path.is_file():
                files[f"{folder}/{path.name}"] = path
    return files


def upload_bundle(s3: Any, bundle_uri: str, files: Mapping[str, Path]) -> Bundle:
    """Upload `files` under `bundle_uri`, overwriting what an earlier deploy put there."""
    bucket, prefix = split_s3_uri(bundle_uri)
    keys = []
    for relative, path in files.items():
        key = f"{prefix}/{relative}" if prefix else relative
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    uri = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    (wheel,) = (relative for relative in files if relative.startswith("wheels/"))
    return Bundle(uri=uri, wheel_uri=f"{uri}/{wheel}", keys=tuple(keys))


def glue_job_definition(spec: GlueJobSpec, bundle: Bundle, default_arguments: Mapping[str, str]) -> dict[str, Any]:
    """The job as the Glue launcher expects it (glue_labeling/launchers/glue.py). UpdateJob
    replaces a whole definition, so the same one serves both calls; `default_arguments` are
    the existing job's, kept under ours (an operator's --TempDir or --enable-metrics stay).

    No --enable-glue-datacatalog: the job defines its input tables in its session catalog
    (glue_labeling.catalog.LocalCatalog.register_in_session), which with that flag would be the
    account's Data Catalog, where it would drop and recreate tables of the same name."""
    if spec.glue_version not in GLUE_VERSIONS:
        raise ValueError(f"Glue version {spec.glue_version!r}: choose one of {', '.join(GLUE_VERSIONS)}")
    return {
        "Description": "glue-labeling: one StartMLLabelingSetGenerationTaskRun per job run",
        "Role": spec.role_arn,
        "Command": {"Name": "glueetl", "ScriptLocation": bundle.script_uri, "PythonVersion": "3"},
        "GlueVersion": spec.glue_version,
        "WorkerType": spec.worker_type,
        "NumberOfWorkers": spec.number_of_workers,
        "ExecutionProperty": {"MaxConcurrentRuns": spec.max_concurrent_runs},
        "DefaultArguments": {
            **default_arguments,
            "--job-language": "python",
            "--datalake-formats": "delta",
            "--conf": GLUE_SPARK_CONF,
            "--additional-python-modules": bundle.wheel_uri,
            "--extra-jars": bundle.similarity_jar_uri,
        },
    }


def deploy_glue_job(glue: Any, spec: GlueJobSpec, bundle: Bundle) -> str:
    """Create the Glue job, or update it if it exists; return "created" or "updated"."""
    try:
        existing = glue.get_job(JobName=spec.name)["Job"]
    except glue.exceptions.EntityNotFoundException:
        existing = None
    if existing is None:
        if not spec.role_arn:
            raise ValueError(f"Glue job {spec.name!r} does not exist yet: creating it needs --glue-role-arn")
        glue.create_job(Name=spec.name, **glue_job_definition(spec, bundle, {}))
        return "created"
    spec = dataclasses.replace(spec, role_arn=spec.role_arn or existing["Role"])
    glue.update_job(
        JobName=spec.name, JobUpdate=glue_job_definition(spec, bundle, existing.get("DefaultArguments", {}))
    )
    return "updated"


def launcher_settings(
    bundle: Bundle, state_uri: str = "", glue_job_name: str = "", aws_region: str = ""
) -> dict[str, dict[str, str]]:
    """For each remote launcher, the settings that make it run this bundle: every setting it
    requires (RemoteLauncher.required) and the three control-plane tables on S3. What the
    deploy does not know is a placeholder in angle brackets."""
    state = state_uri.rstrip("/") or PLACEHOLDERS["state_uri"]
    known = {"job_bundle_uri": bundle.uri, "glue_job_name": glue_job_name}
    settings: dict[str, dict[str, str]] = {}
    for target, (_title, launcher) in TARGETS.items():
        values = {"launcher": target}
        if aws_region:
            values["aws_region"] = aws_region
        values |= {
            "ledger_uri": f"{state}/ledger/task_runs",
            "registry_uri": f"{state}/registry/transforms",
            "catalog_uri": f"{state}/catalog/tables",
            "labels_uri": f"{state}/labels",
        }
        values |= {name: known.get(name) or PLACEHOLDERS[name] for name in launcher.required}
        settings[target] = values
    return settings


def render_settings(target: str, values: Mapping[str, str], bundle: Bundle) -> str:
    """One target's settings as conf/glue-labeling.toml lines and as GLUE_LABELING_* exports,
    after what the platform itself must provide."""
    title = TARGETS[target][0]
    lines = [f"== {title}: launcher = {json.dumps(target)} ==", *platform_notes(target, bundle)]
    lines.append("conf/glue-labeling.toml:")
    lines += [f"  {name} = {json.dumps(value)}" for name, value in values.items()]
    lines.append("or the environment:")
    lines += [f"  export {ENV_PREFIX}{name.upper()}='{value}'" for name, value in values.items()]
    return "\n".join(lines)


def platform_notes(target: str, bundle: Bundle) -> list[str]:
    """What the platform must have that a setting cannot give it."""
    wheel_name = bundle.wheel_uri.rsplit("/", 1)[1]
    if target == "emr":
        return [
            "The cluster: Delta on (classification delta-defaults, delta.enabled=true) and the wheel",
            "installed for its Python, e.g. by a bootstrap action running:",
            f"  aws s3 cp {bundle.wheel_uri} /tmp/ && sudo python3 -m pip install /tmp/{wheel_name}",
        ]
    if target == "emr-serverless":
        return [
            "The application: Delta on its classpath (spark.jars=/usr/share/aws/delta/lib/...) and",
            f"the wheel in its Python environment (a custom image, or a venv archive): {bundle.wheel_uri}",
        ]
    return [f"The Glue job runs {bundle.script_uri} with --additional-python-modules {bundle.wheel_uri}"]
