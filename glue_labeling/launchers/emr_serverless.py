"""EMR Serverless: one job run per task run on a Spark application.

The job driver is sparkSubmit with the job script from the bundle; the settings travel in
sparkSubmitParameters as `spark.emr-serverless.driverEnv.<VAR>` and `spark.executorEnv.<VAR>`.
The task run id is the client token, so a retried StartJobRun cannot start the run twice.

The application is the operator's: a Spark release with Delta on the classpath (its
runtimeConfiguration, or spark.jars=/usr/share/aws/delta/lib/...) and the glue-labeling wheel in
its image (or a Python environment archive in its spark-defaults).

Stop is CancelJobRun; force sets no shutdown grace period.
"""

from __future__ import annotations

from typing import Any, ClassVar

from glue_labeling.launchers.emr import job_script_uri, similarity_jar_uri
from glue_labeling.launchers.remote import RemoteLauncher, job_options, remote_environment
from glue_labeling.ledger import FAILED, RUNNING, STOPPED, SUCCEEDED
from glue_labeling.settings import Settings
from glue_labeling.spark import JOB_SPARK_CONF

# A backstop above any transform Timeout the reconciler enforces (default 48 hours): without it
# EMR Serverless cancels a run after 12 hours, and 10080 (7 days) is the most it allows.
EXECUTION_TIMEOUT_MINUTES = 10080


class EmrServerlessLauncher(RemoteLauncher):
    name = "emr-serverless"
    service = "emr-serverless"
    # botocore emr-serverless JobRunState.
    states: ClassVar[dict[str, str]] = {
        "SUBMITTED": RUNNING,
        "PENDING": RUNNING,
        "SCHEDULED": RUNNING,
        "QUEUED": RUNNING,
        "RUNNING": RUNNING,
        "CANCELLING": RUNNING,  # still running until EMR Serverless has ended it
        "SUCCESS": SUCCEEDED,
        "FAILED": FAILED,
        "CANCELLED": STOPPED,
    }
    gone_errors: ClassVar[frozenset[str]] = frozenset({"ResourceNotFoundException"})
    required = ("emr_serverless_application_id", "emr_serverless_execution_role_arn", "job_bundle_uri")

    def __init__(self, settings: Settings, client: Any = None) -> None:
        super().__init__(settings, client)
        self.spark_submit_parameters()  # refuse unusable settings now, not at the first Start

    def spark_submit_parameters(self) -> str:
        """One string of options (the similarity jar, then --conf): a value with white space in it
        could not be told apart."""
        options = [f"--jars {similarity_jar_uri(self._settings.job_bundle_uri)}"]
        for variable, value in remote_environment(self._settings).items():
            if not value or any(character.isspace() for character in value):
                raise ValueError(f"{variable}={value!r}: EMR Serverless needs a value without white space")
            options += [f"--conf spark.emr-serverless.driverEnv.{variable}={value}"]
            options += [f"--conf spark.executorEnv.{variable}={value}"]
        options += [f"--conf {key}={value}" for key, value in JOB_SPARK_CONF.items()]
        return " ".join(options)

    def job_run_request(self, task_run_id: str, job: str, arguments: dict[str, str]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "applicationId": self._settings.emr_serverless_application_id,
            "clientToken": task_run_id,
            "executionRoleArn": self._settings.emr_serverless_execution_role_arn,
            "name": f"glue-labeling {task_run_id}",
            "executionTimeoutMinutes": EXECUTION_TIMEOUT_MINUTES,
            "jobDriver": {
                "sparkSubmit": {
                    "entryPoint": job_script_uri(self._settings.job_bundle_uri, job),
                    "entryPointArguments": job_options(arguments),
                    "sparkSubmitParameters": self.spark_submit_parameters(),
                }
            },
        }
        if self._settings.emr_serverless_log_uri:
            request["configurationOverrides"] = {
                "monitoringConfiguration": {
                    "s3MonitoringConfiguration": {"logUri": self._settings.emr_serverless_log_uri}
                }
            }
        return request

    def _submit(self, task_run_id: str, job: str, arguments: dict[str, str]) -> tuple[str, str]:
        response = self.client.start_job_run(**self.job_run_request(task_run_id, job, arguments))
        return response["applicationId"], response["jobRunId"]

    def _fetch(self, container: str, run: str) -> tuple[str, str]:
        job_run = self.client.get_job_run(applicationId=container, jobRunId=run)["jobRun"]
        return job_run["state"], job_run.get("stateDetails", "")

    def _cancel(self, container: str, run: str, force: bool) -> None:
        self.client.cancel_job_run(
            applicationId=container, jobRunId=run, **({"shutdownGracePeriodInSeconds": 0} if force else {})
        )
