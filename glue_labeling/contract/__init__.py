"""The AWS Glue contract: shapes, validation and errors, read from botocore's Glue model.

Nothing in this package knows about Spark, Delta or HTTP; it turns a request dict into a
validated request dict or a `GlueError` carrying the AWS error code.
"""

from glue_labeling.contract.errors import (
    ConcurrentRunsExceededException,
    EntityNotFoundException,
    GlueError,
    InternalServiceException,
    InvalidInputException,
    OperationTimeoutException,
)
from glue_labeling.contract.model import SUPPORTED_OPERATIONS, glue_model, validate_request

__all__ = [
    "SUPPORTED_OPERATIONS",
    "ConcurrentRunsExceededException",
    "EntityNotFoundException",
    "GlueError",
    "InternalServiceException",
    "InvalidInputException",
    "OperationTimeoutException",
    "glue_model",
    "validate_request",
]
