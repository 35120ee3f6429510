"""Validation of requests against botocore's Glue service model.

botocore's own ParamValidator checks types and minimums but not maximum lengths, patterns or
enums (the server does those), so the server side walks the shapes itself. Everything it
checks (required members, lengths, ranges, patterns, enums, list sizes) comes from the model
shipped with boto3, never from constants retyped here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from glue_labeling.contract.errors import InvalidInputException

SUPPORTED_OPERATIONS = (
    "StartMLLabelingSetGenerationTaskRun",
    "GetMLTaskRun",
    "GetMLTaskRuns",
    "CancelMLTaskRun",
    "StartImportLabelsTaskRun",
    "StartExportLabelsTaskRun",
    "StartMLEvaluationTaskRun",
    "CreateMLTransform",
    "GetMLTransform",
    "GetMLTransforms",
    "ListMLTransforms",
    "UpdateMLTransform",
    "DeleteMLTransform",
)


@functools.cache
def glue_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("glue")


def operation_model(operation: str) -> OperationModel:
    return glue_model().operation_model(operation)


_SURROGATE_PAIR_RANGE = re.compile(
    r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})-\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.I
)


def _code_point(high: str, low: str) -> int:
    return 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)


@functools.cache
def _compiled_pattern(java_pattern: str) -> re.Pattern[str]:
    """The model's patterns are Java regexes over UTF-16; Python matches code points, so a
    surrogate-pair range (\\uD800\\uDC00-\\uDBFF\\uDFFF) becomes the supplementary plane range."""

    def to_code_points(match: re.Match[str]) -> str:
        start = _code_point(match.group(1), match.group(2))
        end = _code_point(match.group(3), match.group(4))
        return f"\\U{start:08X}-\\U{end:08X}"

    return re.compile(_SURROGATE_PAIR_RANGE.sub(to_code_points, java_pattern))


def validate_request(operation: str, params: Any) -> dict[str, Any]:
    """Check `params` against the operation's input shape; raise InvalidInputException naming
    the member and the rule it breaks. Timestamps are returned as aware datetimes."""
    shape = operation_model(operation).input_shape
    if not isinstance(params, dict):
        raise InvalidInputException(f"Request body for {operation} must be a JSON object")
    return _validate(shape, params, shape.name)


def _validate(shape: Shape, value: Any, path: str) -> Any:
    if value is None:
        raise InvalidInputException(f"{path}: null is not a valid {shape.type_name}")
    if isinstance(shape, StructureShape):
        return _validate_structure(shape, value, path)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise InvalidInputException(f"{path}: expected a list, got {type(value).__name__}")
        _check_size(shape, len(value), path, "items")
        return [_validate(shape.member, item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise InvalidInputException(f"{path}: expected a map, got {type(value).__name__}")
        _check_size(shape, len(value), path, "entries")
        return {
            _validate(shape.key, key, f"{path} key"): _validate(shape.value, item, f"{path}.{key}")
            for key, item in value.items()
        }
    return _validate_scalar(shape, value, path)


def _validate_structure(shape: StructureShape, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputException(f"{path}: expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(shape.members))
    if unknown:
        raise InvalidInputException(f"{path}: unknown member(s) {', '.join(unknown)}")
    for required in shape.required_members:
        if required not in value:
            raise InvalidInputException(f"{path}.{required}: member is required")
    return {
        name: _validate(shape.members[name], member_value, f"{path}.{name}") for name, member_value in value.items()
    }


def _check_size(shape: Shape, size: int, path: str, unit: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        raise InvalidInputException(f"{path}: must have at least {low} {unit}, got {size}")
    if high is not None and size > high:
        raise InvalidInputException(f"{path}: must have at most {high} {unit}, got {size}")


def _validate_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidInputException(f"{path}: expected a string, got {type(value).__name__}")
        _check_size(shape, len(value), path, "characters")
        if shape.enum and value not in shape.enum:
            raise InvalidInputException(f"{path}: '{value}' is not one of {', '.join(shape.enum)}")
        pattern = shape.metadata.get("pattern")
        if pattern and not _compiled_pattern(pattern).fullmatch(value):
            raise InvalidInputException(f"{path}: value does not match pattern {pattern}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputException(f"{path}: expected an integer, got {type(value).__name__}")
        return _check_range(shape, value, path)
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputException(f"{path}: expected a number, got {type(value).__name__}")
        return _check_range(shape, float(value), path)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidInputException(f"{path}: expected a boolean, got {type(value).__name__}")
        return value
    if kind == "timestamp":
        return _parse_timestamp(value, path)
    raise InvalidInputException(f"{path}: unsupported member type {kind}")


def _check_range(shape: Shape, value: float, path: str) -> Any:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        raise InvalidInputException(f"{path}: must be >= {low}, got {value}")
    if high is not None and value > high:
        raise InvalidInputException(f"{path}: must be <= {high}, got {value}")
    return value


def _parse_timestamp(value: Any, path: str) -> dt.datetime:
    """JSON 1.1 sends timestamps as epoch seconds; ISO-8601 strings are accepted for the CLI."""
    if isinstance(value, bool):
        raise InvalidInputException(f"{path}: expected a timestamp, got bool")
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputException(f"{path}: '{value}' is not a timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    raise InvalidInputException(f"{path}: expected a timestamp, got {type(value).__name__}")
