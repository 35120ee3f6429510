"""S3 locations (InputS3Path, OutputS3Path): the S3 URIs AWS accepts, plus file:// as a
documented local extension."""

from __future__ import annotations

import re

from glue_labeling.contract.errors import InvalidInputException

# S3 bucket naming rules (3-63 chars, lower case letters, digits, dots, hyphens; starts and ends
# with a letter or digit; not an IP address).
_BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOCATION_SCHEMES = ("s3://", "s3a://", "file://")


def validate_location_uri(member: str, uri: str) -> None:
    """s3:// and s3a:// URIs with a valid bucket; file:// is the documented local extension."""
    if not uri.startswith(LOCATION_SCHEMES):
        raise InvalidInputException(f"{member}: must be an s3:// (or s3a://, file://) URI, got '{uri}'")
    if uri.startswith("file://"):
        if not uri[len("file://") :].startswith("/"):
            raise InvalidInputException(f"{member}: a file:// URI must hold an absolute path")
        return
    bucket = uri.split("://", 1)[1].split("/", 1)[0]
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidInputException(f"{member}: '{bucket}' is not a valid S3 bucket name")
