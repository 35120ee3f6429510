"""The Python API: a client whose snake_case methods mirror boto3's Glue client.

    from glue_labeling.client import GlueLabelingClient
    client = GlueLabelingClient()
    run = client.start_ml_labeling_set_generation_task_run(TransformId=t, OutputS3Path=p)

It runs the service in-process (no HTTP, no JVM); errors are raised as the same GlueError
subclasses, whose `code` is the AWS error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore import xform_name

from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings


class GlueLabelingClient:
    def __init__(self, settings: Settings | None = None, service: GlueLabelingService | None = None) -> None:
        self.service = service or GlueLabelingService(settings)
        for operation in self.service.operations():
            setattr(self, xform_name(operation), self._method(operation))

    def _method(self, operation: str) -> Callable[..., dict[str, Any]]:
        def call(**request: Any) -> dict[str, Any]:
            return self.service.call(operation, request)

        call.__name__ = xform_name(operation)
        call.__doc__ = f"AWS Glue {operation}; keyword arguments and result as in boto3."
        return call
