"""Launchers that run a task run's Spark job on AWS: EMR on EC2 (`emr`), EMR Serverless
(`emr-serverless`) and Glue (`glue`). The local launcher stays in glue_labeling.launcher;
`glue_labeling.launcher.launcher_for` builds any of the four from the `launcher` setting.

Nothing is imported here eagerly: the job script imports `job_arguments` from this package
before its settings exist, and the control plane imports boto3 only for a remote launcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glue_labeling.launchers.remote import RemoteLauncher
    from glue_labeling.settings import Settings

REMOTE_LAUNCHERS = ("emr", "emr-serverless", "glue")


def remote_launcher(settings: Settings) -> RemoteLauncher:
    """The remote launcher named by `settings.launcher`; ValueError if its settings are missing."""
    if settings.launcher == "emr":
        from glue_labeling.launchers.emr import EmrStepLauncher

        return EmrStepLauncher(settings)
    if settings.launcher == "emr-serverless":
        from glue_labeling.launchers.emr_serverless import EmrServerlessLauncher

        return EmrServerlessLauncher(settings)
    if settings.launcher == "glue":
        from glue_labeling.launchers.glue import GlueJobLauncher

        return GlueJobLauncher(settings)
    raise ValueError(f"unknown remote launcher {settings.launcher!r}; choose one of {', '.join(REMOTE_LAUNCHERS)}")
