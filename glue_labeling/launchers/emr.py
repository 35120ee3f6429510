"""EMR on EC2: one step per task run on a running cluster.

The step is `spark-submit --deploy-mode cluster` through command-runner.jar, so the driver runs
in YARN on the cluster and the step ends when the application does. The settings travel as
`spark.yarn.appMasterEnv.<VAR>` (the driver, in cluster mode) and `spark.executorEnv.<VAR>`.
ActionOnFailure is CONTINUE: a failed labeling run must not terminate a shared cluster.

The cluster is the operator's: Delta enabled (classification delta-defaults, delta.enabled=true)
and the glue-labeling wheel installed for the cluster's Python (e.g. by a bootstrap action).

Stop is CancelSteps: SEND_INTERRUPT sends SIGTERM to the step's process (EMR 5.32+),
TERMINATE_PROCESS sends SIGKILL. A RUNNING step can be cancelled from EMR 5.28 on.
"""

from __future__ import annotations

from typing import ClassVar

from glue_labeling.launchers.remote import GONE, RemoteLauncher, job_options, log, remote_environment
from glue_labeling.ledger import FAILED, RUNNING, STOPPED, SUCCEEDED
from glue_labeling.spark import JOB_SPARK_CONF


def job_script_uri(bundle_uri: str, job: str) -> str:
    return f"{bundle_uri.rstrip('/')}/jobs/{job}"


# glue-labeling's JVM similarity functions (scripts/jvm/src), which scripts/deploy.py uploads
# with the bundle: the scoring stage calls them, so every remote run puts the jar on its classpath.
SIMILARITY_JAR = "glue-labeling-similarity.jar"


def similarity_jar_uri(bundle_uri: str) -> str:
    return f"{bundle_uri.rstrip('/')}/jars/{SIMILARITY_JAR}"


class EmrStepLauncher(RemoteLauncher):
    name = "emr"
    service = "emr"
    # botocore emr StepState.
    states: ClassVar[dict[str, str]] = {
        "PENDING": RUNNING,
        "RUNNING": RUNNING,
        "CANCEL_PENDING": RUNNING,  # still running until EMR has ended it
        "COMPLETED": SUCCEEDED,
        "CANCELLED": STOPPED,
        "FAILED": FAILED,
        "INTERRUPTED": FAILED,  # the cluster went away under the step; nobody asked for a stop
    }
    # EMR answers InvalidRequestException for an unknown step but also for malformed requests,
    # so no error code is taken to mean "gone"; a step of a terminated cluster stays describable.
    gone_errors: ClassVar[frozenset[str]] = frozenset()
    required = ("emr_cluster_id", "job_bundle_uri")

    def spark_submit_args(self, job: str, arguments: dict[str, str]) -> list[str]:
        args = ["spark-submit", "--deploy-mode", "cluster", "--jars", similarity_jar_uri(self._settings.job_bundle_uri)]
        for variable, value in remote_environment(self._settings).items():
            args += ["--conf", f"spark.yarn.appMasterEnv.{variable}={value}"]
            args += ["--conf", f"spark.executorEnv.{variable}={value}"]
        for key, value in JOB_SPARK_CONF.items():
            args += ["--conf", f"{key}={value}"]
        return [*args, job_script_uri(self._settings.job_bundle_uri, job), *job_options(arguments)]

    def _submit(self, task_run_id: str, job: str, arguments: dict[str, str]) -> tuple[str, str]:
        cluster = self._settings.emr_cluster_id
        response = self.client.add_job_flow_steps(
            JobFlowId=cluster,
            Steps=[
                {
                    "Name": f"glue-labeling {task_run_id}",
                    "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": self.spark_submit_args(job, arguments)},
                }
            ],
        )
        return cluster, response["StepIds"][0]

    def _fetch(self, container: str, run: str) -> tuple[str, str]:
        step = self.client.describe_step(ClusterId=container, StepId=run).get("Step")
        if step is None:
            return GONE, f"EMR does not know step {run} of cluster {container}"
        status = step["Status"]
        failure = status.get("FailureDetails", {})
        parts = [
            status.get("StateChangeReason", {}).get("Message"),
            failure.get("Reason"),
            failure.get("Message"),
            f"log: {failure['LogFile']}" if failure.get("LogFile") else None,
        ]
        return status["State"], "; ".join(part for part in parts if part)

    def _cancel(self, container: str, run: str, force: bool) -> None:
        response = self.client.cancel_steps(
            ClusterId=container,
            StepIds=[run],
            StepCancellationOption="TERMINATE_PROCESS" if force else "SEND_INTERRUPT",
        )
        for info in response.get("CancelStepsInfoList", []):
            if info.get("Status") == "FAILED":
                log.warning("EMR did not cancel step %s of %s: %s", run, container, info.get("Reason", ""))
