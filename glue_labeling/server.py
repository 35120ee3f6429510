"""The AWS JSON 1.1 endpoint: `boto3.client("glue", endpoint_url=...)` works unchanged.

`POST /` with `X-Amz-Target: AWSGlue.<Operation>` and a JSON body; responses are JSON with
timestamps as epoch seconds; errors are `{"__type": ..., "message": ...}` with HTTP 400
(client) or 500 (server fault). Built on Werkzeug's WSGI toolkit and threaded server.
Signatures are not checked: the endpoint binds to loopback by default.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from glue_labeling.contract import GlueError, InternalServiceException, InvalidInputException
from glue_labeling.contract.errors import UnknownOperationException
from glue_labeling.service import GlueLabelingService

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AWSGlue."
log = logging.getLogger(__name__)


def _to_wire(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: _to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_wire(item) for item in value]
    return value


def _json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(_to_wire(body)), status=status, content_type=CONTENT_TYPE)


class GlueJsonApp:
    def __init__(self, service: GlueLabelingService) -> None:
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            if request.method != "POST" or request.path != "/":
                raise UnknownOperationException(f"{request.method} {request.path} is not an AWS JSON 1.1 request")
            target = request.headers.get("X-Amz-Target", "")
            if not target.startswith(TARGET_PREFIX):
                raise UnknownOperationException(f"Missing or foreign X-Amz-Target '{target}'")
            try:
                body = json.loads(request.get_data(as_text=True) or "{}")
            except json.JSONDecodeError as error:
                raise InvalidInputException(f"Request body is not JSON: {error}") from None
            return _json_response(self.service.call(target[len(TARGET_PREFIX) :], body))
        except GlueError as error:
            return _json_response(error.to_wire(), error.http_status)
        except Exception as error:
            log.exception("unexpected error")
            fault = InternalServiceException(f"{type(error).__name__}: {error}")
            return _json_response(fault.to_wire(), fault.http_status)


def serve(host: str = "127.0.0.1", port: int = 8080, service: GlueLabelingService | None = None) -> None:
    server = make_server(host, port, GlueJsonApp(service or GlueLabelingService()), threaded=True)
    print(json.dumps({"Endpoint": f"http://{host}:{server.server_port}"}), flush=True)
    server.serve_forever()
