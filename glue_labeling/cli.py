"""`glue-labeling`: the AWS CLI's Glue verbs, plus `serve`, `register-table` and `wait-ml-task-run`.

Operation verbs and flags are generated from botocore's model exactly as the AWS CLI names
them (`StartMLLabelingSetGenerationTaskRun` -> `start-ml-labeling-set-generation-task-run`,
`OutputS3Path` -> `--output-s3-path`). Structure and list members take JSON; `--cli-input-json`
takes the whole request as JSON (or `file://path`). Results print as JSON on stdout; errors
print the AWS error JSON on stderr and exit 254 (the AWS CLI's code for a service error),
usage errors exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from botocore import xform_name

from glue_labeling.contract import ConcurrentRunsExceededException, GlueError, InvalidInputException
from glue_labeling.contract.model import SUPPORTED_OPERATIONS, operation_model
from glue_labeling.ledger import FINAL_STATUSES

SERVICE_ERROR_EXIT = 254
# A scheduled trigger that finds the transform's concurrency limit reached: not an error of the
# schedule, so schedulers can tell it apart (retry later, alert differently).
LIMIT_REACHED_EXIT = 3


def _kebab(name: str) -> str:
    return xform_name(name, "-")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot print {type(value).__name__}")


def _print(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=4, default=_json_default), flush=True)


def _read_cli_input(raw: str) -> dict[str, Any]:
    try:
        text = Path(raw[len("file://") :]).read_text() if raw.startswith("file://") else raw
    except OSError as error:
        raise InvalidInputException(f"--cli-input-json: cannot read {raw}: {error}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputException(f"--cli-input-json is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInputException("--cli-input-json must be a JSON object")
    return value


def _member_value(shape_type: str, raw: str, flag: str) -> Any:
    """Scalars as the AWS CLI reads them; structures, lists and maps as JSON."""
    if shape_type in ("structure", "list", "map"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidInputException(f"{flag}: expected JSON: {error}") from None
    if shape_type in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise InvalidInputException(f"{flag}: expected an integer, got '{raw}'") from None
    if shape_type in ("double", "float"):
        try:
            return float(raw)
        except ValueError:
            raise InvalidInputException(f"{flag}: expected a number, got '{raw}'") from None
    return raw


def _add_operation_parsers(commands: argparse._SubParsersAction) -> None:
    for operation in SUPPORTED_OPERATIONS:
        input_shape = operation_model(operation).input_shape
        parser = commands.add_parser(_kebab(operation), help=f"AWS Glue {operation}")
        parser.set_defaults(operation=operation)
        parser.add_argument("--cli-input-json", help="the whole request as JSON, or file://path")
        for member, shape in input_shape.members.items():
            if shape.type_name == "boolean":
                group = parser.add_mutually_exclusive_group()
                group.add_argument(f"--{_kebab(member)}", dest=member, action="store_const", const=True)
                group.add_argument(f"--no-{_kebab(member)}", dest=member, action="store_const", const=False)
            else:
                parser.add_argument(f"--{_kebab(member)}", dest=member, metavar=shape.type_name.upper())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glue-labeling", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_operation_parsers(commands)

    serve = commands.add_parser("serve", help="run the AWS JSON 1.1 endpoint")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)

    register = commands.add_parser(
        "register-table", help="register an existing CSV/Parquet/JSON/Delta dataset as database.table"
    )
    register.add_argument("--database-name", required=True)
    register.add_argument("--table-name", required=True)
    register.add_argument("--location", required=True, help="path or s3:// URI of the dataset")
    register.add_argument("--format", required=True, choices=["csv", "parquet", "json", "delta"])

    scheduled = commands.add_parser(
        "start-scheduled-labeling-set-generation",
        help="for schedulers: start a labeling-set run at most once per --idempotency-key (e.g. the slot)",
    )
    scheduled.add_argument("--transform-id", required=True)
    scheduled.add_argument("--output-s3-path", required=True)
    scheduled.add_argument("--idempotency-key", required=True, help="e.g. the schedule slot: 2026-11-27T02:00")

    wait = commands.add_parser("wait-ml-task-run", help="print each status change until the run ends")
    wait.add_argument("--transform-id", required=True)
    wait.add_argument("--task-run-id", required=True)
    wait.add_argument("--poll-seconds", type=float, default=2.0)
    return parser


def _request(args: argparse.Namespace) -> dict[str, Any]:
    input_shape = operation_model(args.operation).input_shape
    request = _read_cli_input(args.cli_input_json) if args.cli_input_json else {}
    for member, shape in input_shape.members.items():
        raw = getattr(args, member)
        if raw is None:
            continue
        request[member] = raw if isinstance(raw, bool) else _member_value(shape.type_name, raw, f"--{_kebab(member)}")
    return request


def wait_for_run(client: Any, transform_id: str, task_run_id: str, poll_seconds: float) -> dict[str, Any]:
    """Print one JSON line per status change; return the final GetMLTaskRun result."""
    last_status = None
    while True:
        run = client.get_ml_task_run(TransformId=transform_id, TaskRunId=task_run_id)
        if run["Status"] != last_status:
            last_status = run["Status"]
            print(json.dumps({"TaskRunId": task_run_id, "Status": last_status}), flush=True)
        if run["Status"] in FINAL_STATUSES:
            return run
        time.sleep(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            from glue_labeling.server import serve

            serve(args.host, args.port)
            return 0
        from glue_labeling.client import GlueLabelingClient

        if args.command == "register-table":
            from glue_labeling.spark import get_or_create_session

            client = GlueLabelingClient()
            entry = client.service.catalog.register(
                get_or_create_session(), args.database_name, args.table_name, args.location, args.format
            )
            _print({k: v for k, v in entry.items() if k != "registered_on"})
            return 0
        client = GlueLabelingClient()
        if args.command == "start-scheduled-labeling-set-generation":
            return _start_scheduled(client, args)
        if args.command == "wait-ml-task-run":
            run = wait_for_run(client, args.transform_id, args.task_run_id, args.poll_seconds)
            _print(run)
            return 0 if run["Status"] == "SUCCEEDED" else 1
        _print(client.service.call(args.operation, _request(args)))
        return 0
    except GlueError as error:
        print(json.dumps(error.to_wire()), file=sys.stderr)
        return SERVICE_ERROR_EXIT


def _start_scheduled(client: Any, args: argparse.Namespace) -> int:
    try:
        result = client.service.start_scheduled_labeling_set_generation(
            args.transform_id, args.output_s3_path, args.idempotency_key
        )
    except ConcurrentRunsExceededException as error:
        print(json.dumps({**error.to_wire(), "IdempotencyKey": args.idempotency_key}), file=sys.stderr)
        return LIMIT_REACHED_EXIT
    _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
