"""What the EMR, EMR Serverless and Glue launchers share.

A remote launcher hands the task run's job to an AWS service and keeps only the service's id
of it, in a handle "<launcher>:<container id>:<run id>" (the cluster, application or Glue job,
then the step or job run). Liveness and the outcome come from asking the service; each launcher
maps *every* state of its service to one task-run view (`states`), so a state added by AWS
shows up as a failing test rather than as a run the reconciler misreads.

The job on the platform loads its settings like a local job does (`load_settings`), from
GLUE_LABELING_* variables, but it gets only the settings that mean something there
(`REMOTE_SETTINGS`): the control-plane tables, the labels and the lock timeout. Not the Spark knobs (the
platform's session is used untouched), not jars_dir or state_dir (paths on this machine), not
the launcher (the job launches nothing), and never the S3 endpoint keys: job arguments and
Spark properties are logged and shown in consoles, and on AWS the job reaches S3 with its role.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from glue_labeling.ledger import FAILED, RUNNING, STOPPED, SUCCEEDED, TIMEOUT
from glue_labeling.settings import ENV_PREFIX, Settings

log = logging.getLogger("glue_labeling.launchers")

# The task-run view a platform state maps to: RUNNING means alive (pending, queued, running,
# being cancelled...); the others are final and name the task-run status they imply.
TASK_RUN_VIEWS = frozenset({RUNNING, SUCCEEDED, FAILED, STOPPED, TIMEOUT})

# Settings the remote job needs, passed as GLUE_LABELING_<FIELD> (see the module docstring).
REMOTE_SETTINGS = ("ledger_uri", "registry_uri", "catalog_uri", "labels_uri", "operation_timeout_seconds")
# The job's state_dir on a platform node: only lock files go there (every table is on S3), and
# the default (next to the installed package) may not be writable.
REMOTE_STATE_DIR = "/tmp/glue-labeling"
# The pseudo-state of a run the service no longer knows (deleted job, expired history).
GONE = "NOT_FOUND"


@dataclasses.dataclass(frozen=True)
class PlatformRun:
    """One look at a run on the platform."""

    state: str  # the platform's own state, e.g. "COMPLETED"
    status: str | None  # its task-run view (one of TASK_RUN_VIEWS); None for a state this build does not know
    message: str = ""  # the platform's reason or error message, for the task run's ErrorString


def remote_environment(settings: Settings) -> dict[str, str]:
    """The GLUE_LABELING_* variables the job on the platform loads its settings from."""
    environment = settings.to_environment()
    remote = {ENV_PREFIX + name.upper(): environment[ENV_PREFIX + name.upper()] for name in REMOTE_SETTINGS}
    remote[ENV_PREFIX + "STATE_DIR"] = REMOTE_STATE_DIR
    return remote


def check_remote_settings(settings: Settings, launcher: str, required: tuple[str, ...]) -> None:
    """Refuse, up front, settings a remote job cannot work with: a job on the platform cannot
    see this machine's disk, and would write to AWS S3 while the control plane used another
    endpoint."""
    problems = [f"{name} is not set" for name in required if not getattr(settings, name)]
    for name in ("ledger_uri", "registry_uri", "catalog_uri", "labels_uri"):
        uri = getattr(settings, name)
        if not uri.startswith(("s3://", "s3a://")):
            problems.append(f"{name} must be an s3:// URI the job can reach (it is {uri!r})")
    if settings.s3_endpoint:
        problems.append("s3_endpoint must be empty: the job on AWS reads and writes AWS S3 with its role")
    if problems:
        raise ValueError(f"launcher {launcher!r}: " + "; ".join(problems))


def job_options(arguments: Mapping[str, str]) -> list[str]:
    """The job's own arguments as the job script parses them: --key value."""
    options: list[str] = []
    for key, value in arguments.items():
        options += [f"--{key}", value]
    return options


class RemoteLauncher:
    """Start, watch and stop one run on an AWS service. Subclasses say how (`_submit`,
    `_fetch`, `_cancel`) and map the service's states (`states`)."""

    name: ClassVar[str]
    # boto3 client name of the service.
    service: ClassVar[str]
    # Every state of the service's run/step state enum -> its task-run view.
    states: ClassVar[Mapping[str, str]]
    # Error codes meaning "no such run (any more)": the run is over, its outcome unknown.
    gone_errors: ClassVar[frozenset[str]] = frozenset()
    # Settings fields this launcher cannot do without.
    required: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Settings, client: Any = None) -> None:
        check_remote_settings(settings, self.name, self.required)
        self._settings = settings
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use: building a launcher needs no credentials."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                self.service,
                region_name=self._settings.aws_region or None,
                config=Config(retries={"mode": "standard"}),
            )
        return self._client

    # -- what subclasses provide ------------------------------------------------------------

    def _submit(self, task_run_id: str, job: str, arguments: dict[str, str]) -> tuple[str, str]:
        """Start the job; return (container id, run id)."""
        raise NotImplementedError

    def _fetch(self, container: str, run: str) -> tuple[str, str]:
        """The run's platform state and the platform's message about it (GONE: no such run)."""
        raise NotImplementedError

    def _cancel(self, container: str, run: str, force: bool) -> None:
        raise NotImplementedError

    # -- the Launcher interface -------------------------------------------------------------

    def start(self, task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        container, run = self._submit(task_run_id, job, arguments)
        return f"{self.name}:{container}:{run}"

    def parse_handle(self, handle: str) -> tuple[str, str] | None:
        """(container id, run id), or None for a handle another launcher made."""
        prefix = self.name + ":"
        if not handle.startswith(prefix) or ":" not in handle[len(prefix) :]:
            return None
        # A Glue job name may hold ':'; the run ids (s-..., jr_..., 00f...) never do.
        container, run = handle[len(prefix) :].rsplit(":", 1)
        return container, run

    def describe(self, handle: str) -> PlatformRun | None:
        """The run as the platform sees it, or None when that cannot be known now (a handle of
        another launcher, throttling, no network, no credentials): the reconciler then leaves
        the run alone rather than failing it on a guess."""
        from botocore.exceptions import BotoCoreError, ClientError

        ids = self.parse_handle(handle)
        if ids is None:
            return None
        try:
            state, message = self._fetch(*ids)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in self.gone_errors:
                return PlatformRun(GONE, FAILED, f"{self.name} no longer knows the run: {error}")
            log.warning("cannot read the state of %s: %s", handle, error)
            return None
        except BotoCoreError as error:
            log.warning("cannot read the state of %s: %s", handle, error)
            return None
        if state == GONE:
            return PlatformRun(GONE, FAILED, message)
        status = self.states.get(state)
        if status is None:
            log.warning("%s reports state %r for %s, which this build does not map", self.name, state, handle)
        return PlatformRun(state, status, message)

    def is_alive(self, handle: str) -> bool | None:
        """True while the platform still runs (or queues, or is cancelling) the job, False once
        it is over, None when unknowable now (see `describe`)."""
        run = self.describe(handle)
        if run is None or run.status is None:
            return None
        return run.status == RUNNING

    def final_status(self, handle: str) -> str | None:
        """The task-run status the platform's final state implies (SUCCEEDED, FAILED, STOPPED or
        TIMEOUT), or None while the run is alive or its state is unknowable."""
        run = self.describe(handle)
        if run is None or run.status in (None, RUNNING):
            return None
        return run.status

    def stop(self, handle: str, force: bool = False) -> None:
        """Ask the platform to cancel the run (force: without a grace period where the platform
        has one). Cancelling is asynchronous: the run stays alive until the platform ends it."""
        ids = self.parse_handle(handle)
        if ids is None:
            log.warning("%s launcher cannot stop %s: not a handle it made", self.name, handle)
            return
        if self.is_alive(handle) is False:
            return
        self._cancel(*ids, force)
