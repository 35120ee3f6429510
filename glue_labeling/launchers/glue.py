"""AWS Glue: one run of an existing Glue job per task run.

The Glue job is the operator's, created or updated by scripts/deploy.py: its ScriptLocation is
jobs/labeling_set_generation.py in the bundle, its DefaultArguments bring the Python modules
(--additional-python-modules with the glue-labeling wheel) and Delta (--datalake-formats delta),
and its MaxConcurrentRuns must allow as many runs as the transforms may have at once. So the
launcher's `job` is the Glue job's script and is not sent.

A Glue run cannot set environment variables, so the settings travel as job arguments
`--GLUE_LABELING_<FIELD> <value>` next to `--task-run-id` and `--transform-id`; the job script
moves them into its environment (glue_labeling.launchers.job_arguments) before loading settings.

Stop is BatchStopJobRun; Glue has no forced variant.
"""

from __future__ import annotations

from typing import ClassVar

from glue_labeling.launchers.remote import RemoteLauncher, log, remote_environment
from glue_labeling.ledger import FAILED, RUNNING, STOPPED, SUCCEEDED, TIMEOUT


class GlueJobLauncher(RemoteLauncher):
    name = "glue"
    service = "glue"
    # botocore glue JobRunState.
    states: ClassVar[dict[str, str]] = {
        "WAITING": RUNNING,  # waiting for capacity (job run queuing)
        "STARTING": RUNNING,
        "RUNNING": RUNNING,
        "STOPPING": RUNNING,  # still running until Glue has ended it
        "SUCCEEDED": SUCCEEDED,
        "FAILED": FAILED,
        "ERROR": FAILED,
        "STOPPED": STOPPED,
        "TIMEOUT": TIMEOUT,
        "EXPIRED": TIMEOUT,  # queued past its time limit without starting
    }
    gone_errors: ClassVar[frozenset[str]] = frozenset({"EntityNotFoundException"})
    required = ("glue_job_name",)

    def job_run_arguments(self, arguments: dict[str, str]) -> dict[str, str]:
        return {
            **{f"--{key}": value for key, value in arguments.items()},
            **{f"--{variable}": value for variable, value in remote_environment(self._settings).items()},
        }

    def _submit(self, task_run_id: str, job: str, arguments: dict[str, str]) -> tuple[str, str]:
        job_name = self._settings.glue_job_name
        response = self.client.start_job_run(JobName=job_name, Arguments=self.job_run_arguments(arguments))
        return job_name, response["JobRunId"]

    def _fetch(self, container: str, run: str) -> tuple[str, str]:
        job_run = self.client.get_job_run(JobName=container, RunId=run, PredecessorsIncluded=False)["JobRun"]
        return job_run["JobRunState"], job_run.get("ErrorMessage", "")

    def _cancel(self, container: str, run: str, force: bool) -> None:
        response = self.client.batch_stop_job_run(JobName=container, JobRunIds=[run])
        for error in response.get("Errors", []):
            log.warning("Glue did not stop run %s of %s: %s", run, container, error.get("ErrorDetail", {}))
