"""AWS error shapes as Python exceptions.

The wire form is `{"__type": code, "message": text}`; botocore maps `__type` to
`client.exceptions.<code>`. Client errors are HTTP 400, server faults (the model's
`fault: true`, only InternalServiceException for these operations) HTTP 500.
"""

from __future__ import annotations


class GlueError(Exception):
    """An error the API returns to its caller, in AWS's shape."""

    code: str = "InternalServiceException"
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


class InvalidInputException(GlueError):
    code = "InvalidInputException"


class EntityNotFoundException(GlueError):
    code = "EntityNotFoundException"


class ConcurrentRunsExceededException(GlueError):
    code = "ConcurrentRunsExceededException"


class OperationTimeoutException(GlueError):
    code = "OperationTimeoutException"


class AlreadyExistsException(GlueError):
    code = "AlreadyExistsException"


class ResourceNumberLimitExceededException(GlueError):
    code = "ResourceNumberLimitExceededException"


class MLTransformNotReadyException(GlueError):
    code = "MLTransformNotReadyException"


class UnknownOperationException(GlueError):
    code = "UnknownOperationException"


class InternalServiceException(GlueError):
    code = "InternalServiceException"
    http_status = 500
