"""Settings: embedded defaults, overlaid by conf/glue-labeling.toml, overlaid by environment.

One place decides every knob. Precedence, lowest first:
  1. the defaults of `Settings` below (they make a fresh clone work with no configuration);
  2. the TOML file named by GLUE_LABELING_CONF, else `conf/glue-labeling.toml` in the project;
  3. environment variables GLUE_LABELING_<FIELD> (upper case), e.g. GLUE_LABELING_STATE_DIR.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "GLUE_LABELING_"


@dataclasses.dataclass(frozen=True)
class Settings:
    # Where the local ledger, registry, catalog, warehouse and run logs live.
    state_dir: str = str(PROJECT_ROOT / ".glue-labeling")
    # Delta tables of the control plane; empty means "<state_dir>/<name>". May be s3a:// URIs.
    ledger_uri: str = ""
    registry_uri: str = ""
    catalog_uri: str = ""
    # Where each transform's labels live: one Delta table per transform, <labels_uri>/<TransformId>.
    labels_uri: str = ""
    # AWS's default quota of concurrent ML task runs per transform.
    max_concurrent_runs_per_transform: int = 3
    # Seconds to wait for the ledger/registry lock before OperationTimeoutException.
    operation_timeout_seconds: float = 20.0
    # Spark, for local runs. On EMR/Glue the cluster's session is taken untouched.
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 8
    spark_driver_memory: str = "4g"
    # Memory outside the heap for Spark's sorts, aggregations and joins (its Tungsten pages).
    spark_off_heap_memory: str = "2g"
    jars_dir: str = str(PROJECT_ROOT / ".cache" / "jars")
    # S3-compatible endpoint (the local server); empty means real AWS S3 with default credentials.
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    # Which launcher runs the Spark job of a task run: local | emr | emr-serverless | glue.
    launcher: str = "local"
    # Remote launchers only (see glue_labeling/launchers/); "local" ignores all of these.
    # AWS region of the EMR / EMR Serverless / Glue APIs; empty means the SDK's default chain.
    aws_region: str = ""
    # S3 prefix of the job bundle: the job script is <job_bundle_uri>/jobs/<script> (EMR, EMR Serverless).
    job_bundle_uri: str = ""
    # launcher = "emr": the running cluster (j-...) that gets one step per task run.
    emr_cluster_id: str = ""
    # launcher = "emr-serverless": the Spark application, the job runtime role, and (optional) an
    # S3 prefix for the driver/executor logs.
    emr_serverless_application_id: str = ""
    emr_serverless_execution_role_arn: str = ""
    emr_serverless_log_uri: str = ""
    # launcher = "glue": an existing Glue job whose script is one of jobs/*.py (any of them runs
    # every task type: the run's task type in the ledger decides the work).
    glue_job_name: str = ""

    def to_environment(self) -> dict[str, str]:
        """These settings as GLUE_LABELING_* variables, for a child process to load unchanged."""
        return {ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @property
    def ledger_location(self) -> str:
        return self.ledger_uri or str(Path(self.state_dir) / "ledger" / "task_runs")

    @property
    def registry_location(self) -> str:
        return self.registry_uri or str(Path(self.state_dir) / "registry" / "transforms")

    @property
    def catalog_location(self) -> str:
        return self.catalog_uri or str(Path(self.state_dir) / "catalog" / "tables")

    @property
    def labels_location(self) -> str:
        return self.labels_uri or str(Path(self.state_dir) / "labels")

    @property
    def logs_dir(self) -> Path:
        return Path(self.state_dir) / "logs"

    @property
    def locks_dir(self) -> Path:
        return Path(self.state_dir) / "locks"


def _coerce(field: dataclasses.Field[Any], raw: Any) -> Any:
    kind = field.type if isinstance(field.type, type) else {"int": int, "float": float}.get(str(field.type), str)
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise ValueError(f"setting {field.name}: cannot read {raw!r} as {kind.__name__}") from None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    conf_file = Path(environ.get(ENV_PREFIX + "CONF", PROJECT_ROOT / "conf" / "glue-labeling.toml"))
    values: dict[str, Any] = {}
    if conf_file.is_file():
        values.update(tomllib.loads(conf_file.read_text()))
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{conf_file}: unknown setting(s) {', '.join(unknown)}")
    for name in fields:
        if ENV_PREFIX + name.upper() in environ:
            values[name] = environ[ENV_PREFIX + name.upper()]
    return Settings(**{name: _coerce(fields[name], value) for name, value in values.items()})
