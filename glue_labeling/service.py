"""The ML-transform service: AWS Glue's operations over the registry, the ledger and a launcher.

Each public method takes the request dict of its operation (as boto3 sends it) and returns the
response dict (as boto3 returns it, timestamps as aware datetimes). Requests are validated
against botocore's model first; a failure raises a GlueError and changes nothing. No Spark
work happens here: a Start records the run and hands it to the launcher.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from glue_labeling.catalog import LocalCatalog
from glue_labeling.contract import (
    EntityNotFoundException,
    GlueError,
    InternalServiceException,
    InvalidInputException,
    validate_request,
)
from glue_labeling.contract.errors import (
    AlreadyExistsException,
    ConcurrentRunsExceededException,
    MLTransformNotReadyException,
    ResourceNumberLimitExceededException,
    UnknownOperationException,
)
from glue_labeling.contract.uris import validate_location_uri
from glue_labeling.labels.store import LabelStore
from glue_labeling.launcher import Launcher, launcher_for
from glue_labeling.ledger import (
    ACTIVE_STATUSES,
    EVALUATION,
    EXPORT_LABELS,
    FAILED,
    IMPORT_LABELS,
    LABELING_SET_GENERATION,
    STARTING,
    STOPPED,
    STOPPING,
    SUCCEEDED,
    TIMEOUT,
    TaskRunLedger,
    utc_now,
)
from glue_labeling.registry import TransformRegistry
from glue_labeling.settings import Settings, load_settings

# The job script of each task type (jobs/<script>).
JOB_SCRIPTS = {
    LABELING_SET_GENERATION: "labeling_set_generation.py",
    IMPORT_LABELS: "import_labels.py",
    EXPORT_LABELS: "export_labels.py",
    EVALUATION: "evaluation.py",
}
DEFAULT_TIMEOUT_MINUTES = 2880
DEFAULT_MAX_RESULTS = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# A job asked to stop (SIGTERM) that is still alive after this long is killed.
STOP_GRACE = dt.timedelta(seconds=60)


def _new_id(prefix: str) -> str:
    return prefix + hashlib.sha1(uuid.uuid4().bytes).hexdigest()


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInputException("NextToken: not a token this service issued") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputException("NextToken: not a token this service issued")
    return offset


def _page(items: list[Any], request: dict[str, Any]) -> tuple[list[Any], str | None]:
    offset = _decode_token(request.get("NextToken"))
    size = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    page = items[offset : offset + size]
    more = offset + size < len(items)
    return page, (_encode_token(offset + size) if more else None)


def _as_datetime(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _task_properties(run: dict[str, Any]) -> dict[str, Any]:
    """TaskRunProperties' member for the run's task type."""
    if run["task_type"] == LABELING_SET_GENERATION:
        return {"LabelingSetGenerationTaskRunProperties": {"OutputS3Path": run["output_s3_path"]}}
    if run["task_type"] == IMPORT_LABELS:
        return {
            "ImportLabelsTaskRunProperties": {"InputS3Path": run["input_s3_path"], "Replace": run["replace_all_labels"]}
        }
    if run["task_type"] == EXPORT_LABELS:
        return {"ExportLabelsTaskRunProperties": {"OutputS3Path": run["output_s3_path"]}}
    return {}


class GlueLabelingService:
    def __init__(self, settings: Settings | None = None, launcher: Launcher | None = None) -> None:
        self.settings = settings or load_settings()
        self.ledger = TaskRunLedger(self.settings)
        self.registry = TransformRegistry(self.settings)
        self.catalog = LocalCatalog(self.settings)
        self.launcher = launcher or launcher_for(self.settings)
        # One store per transform, kept: a loaded Delta table catches up with new commits in
        # well under a millisecond, where opening it anew replays its log.
        self._label_stores: dict[str, LabelStore] = {}

    # -- dispatch -----------------------------------------------------------------------------

    def operations(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "CreateMLTransform": self.create_ml_transform,
            "GetMLTransform": self.get_ml_transform,
            "GetMLTransforms": self.get_ml_transforms,
            "ListMLTransforms": self.list_ml_transforms,
            "UpdateMLTransform": self.update_ml_transform,
            "DeleteMLTransform": self.delete_ml_transform,
            "StartMLLabelingSetGenerationTaskRun": self.start_ml_labeling_set_generation_task_run,
            "GetMLTaskRun": self.get_ml_task_run,
            "GetMLTaskRuns": self.get_ml_task_runs,
            "CancelMLTaskRun": self.cancel_ml_task_run,
            "StartImportLabelsTaskRun": self.start_import_labels_task_run,
            "StartExportLabelsTaskRun": self.start_export_labels_task_run,
            "StartMLEvaluationTaskRun": self.start_ml_evaluation_task_run,
        }

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; anything that is not a GlueError becomes InternalServiceException."""
        handler = self.operations().get(operation)
        if handler is None:
            raise UnknownOperationException(f"Unknown operation {operation}")
        try:
            return handler(request)
        except GlueError:
            raise
        except Exception as error:  # the contract's answer to anything unexpected: HTTP 500
            raise InternalServiceException(f"{type(error).__name__}: {error}") from error

    # -- transforms ---------------------------------------------------------------------------

    def _transform(self, transform_id: str) -> dict[str, Any]:
        transform = self.registry.get(transform_id)
        if transform is None:
            raise EntityNotFoundException(f"Transform {transform_id} not found")
        return transform

    def _check_capacity(self, request: dict[str, Any]) -> None:
        has_workers = "WorkerType" in request or "NumberOfWorkers" in request
        if "MaxCapacity" in request and has_workers:
            raise InvalidInputException("MaxCapacity: cannot be set together with WorkerType/NumberOfWorkers")
        if has_workers and not ("WorkerType" in request and "NumberOfWorkers" in request):
            raise InvalidInputException("WorkerType and NumberOfWorkers must be set together")
        if "MaxCapacity" in request and not 2 <= request["MaxCapacity"] <= 100:
            raise InvalidInputException("MaxCapacity: must be from 2 to 100 DPUs")
        if request.get("NumberOfWorkers", 1) < 1:
            raise InvalidInputException("NumberOfWorkers: must be at least 1")
        if request.get("MaxRetries", 0) < 0:
            raise InvalidInputException("MaxRetries: must not be negative")

    def _input_schema(self, tables: list[dict[str, str]]) -> list[dict[str, str]]:
        """The schema of the input table(s): one table deduplicates, two are linked."""
        if not 1 <= len(tables) <= 2:
            raise InvalidInputException("InputRecordTables: give one table (dedup) or two (linkage)")
        schemas = []
        for table in tables:
            entry = self.catalog.lookup(table["DatabaseName"], table["TableName"])
            if entry is None:
                raise InvalidInputException(
                    f"InputRecordTables: table {table['DatabaseName']}.{table['TableName']} is not in the "
                    "catalog (register it with `glue-labeling register-table`)"
                )
            schemas.append(entry["table_schema"])
        if len(schemas) == 2 and [c["Name"].lower() for c in schemas[0]] != [c["Name"].lower() for c in schemas[1]]:
            raise InvalidInputException("InputRecordTables: the two tables must have the same columns")
        if len(schemas[0]) > 100:
            raise InvalidInputException("InputRecordTables: at most 100 columns are supported")
        return schemas[0]

    def _check_parameters(self, parameters: dict[str, Any], schema: list[dict[str, str]]) -> None:
        if parameters["TransformType"] != "FIND_MATCHES":
            raise InvalidInputException("Parameters.TransformType: only FIND_MATCHES is supported")
        find_matches = parameters.get("FindMatchesParameters")
        if not find_matches or not find_matches.get("PrimaryKeyColumnName"):
            raise InvalidInputException("Parameters.FindMatchesParameters.PrimaryKeyColumnName: member is required")
        key = find_matches["PrimaryKeyColumnName"]
        if key.lower() not in {column["Name"].lower() for column in schema}:
            raise InvalidInputException(
                f"Parameters.FindMatchesParameters.PrimaryKeyColumnName: column '{key}' is not in the input table"
            )

    def create_ml_transform(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("CreateMLTransform", request)
        self._check_capacity(request)
        schema = self._input_schema(request["InputRecordTables"])
        self._check_parameters(request["Parameters"], schema)
        now = utc_now().isoformat()
        transform = {
            "TransformId": _new_id("tfm-"),
            "Name": request["Name"],
            "Description": request.get("Description", ""),
            "Status": "NOT_READY",
            "CreatedOn": now,
            "LastModifiedOn": now,
            "InputRecordTables": request["InputRecordTables"],
            "Parameters": request["Parameters"],
            "EvaluationMetrics": {"TransformType": "FIND_MATCHES"},
            "LabelCount": 0,
            "Schema": schema,
            "Role": request["Role"],
            "GlueVersion": request.get("GlueVersion", "0.9"),
            "Timeout": request.get("Timeout", DEFAULT_TIMEOUT_MINUTES),
            "MaxRetries": request.get("MaxRetries", 0),
        }
        for member in ("MaxCapacity", "WorkerType", "NumberOfWorkers", "TransformEncryption", "Tags"):
            if member in request:
                transform[member] = request[member]
        if "MaxCapacity" not in request and "WorkerType" not in request:
            transform["MaxCapacity"] = 10.0
        with self.registry.exclusive():
            if self.registry.by_name(request["Name"]) is not None:
                raise AlreadyExistsException(f"Transform with name {request['Name']} already exists")
            self.registry.put(transform)
        return {"TransformId": transform["TransformId"]}

    def labels(self, transform_id: str) -> LabelStore:
        if transform_id not in self._label_stores:
            self._label_stores[transform_id] = LabelStore(self.settings, transform_id)
        return self._label_stores[transform_id]

    def _transform_view(self, transform: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in transform.items() if k != "Tags"}
        for member in ("CreatedOn", "LastModifiedOn"):
            view[member] = _as_datetime(view[member])
        # LabelCount and Status follow the stored labels, which import jobs change.
        labels = self.labels(transform["TransformId"]).summary()
        view["LabelCount"] = labels.pairs
        view["Status"] = "READY" if labels.ready else "NOT_READY"
        metrics = self._latest_evaluation(transform["TransformId"])
        if metrics is not None:
            view["EvaluationMetrics"] = {"TransformType": "FIND_MATCHES", "FindMatchesMetrics": metrics}
        return view

    def _latest_evaluation(self, transform_id: str) -> dict[str, Any] | None:
        """FindMatchesMetrics of the transform's latest successful EVALUATION run, if any."""
        evaluations = [
            run
            for run in self.ledger.runs_of(transform_id)
            if run["task_type"] == EVALUATION and run["status"] == SUCCEEDED and run["run_report"]
        ]
        if not evaluations:
            return None
        latest = max(evaluations, key=lambda run: run["completed_on"])
        return json.loads(latest["run_report"]).get("find_matches_metrics")

    def get_ml_transform(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("GetMLTransform", request)
        return self._transform_view(self._transform(request["TransformId"]))

    def _filtered_transforms(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        transforms = [self._transform_view(t) for t in self.registry.all()]
        criteria = request.get("Filter", {})
        checks: list[Callable[[dict[str, Any]], bool]] = []
        if "Name" in criteria:
            checks.append(lambda t: t["Name"] == criteria["Name"])
        if "TransformType" in criteria:
            checks.append(lambda t: t["Parameters"]["TransformType"] == criteria["TransformType"])
        if "Status" in criteria:
            checks.append(lambda t: t["Status"] == criteria["Status"])
        if "GlueVersion" in criteria:
            checks.append(lambda t: t["GlueVersion"] == criteria["GlueVersion"])
        for member, field, before in (
            ("CreatedBefore", "CreatedOn", True),
            ("CreatedAfter", "CreatedOn", False),
            ("LastModifiedBefore", "LastModifiedOn", True),
            ("LastModifiedAfter", "LastModifiedOn", False),
        ):
            if member in criteria:
                bound = criteria[member]
                checks.append(lambda t, f=field, b=bound, lt=before: t[f] < b if lt else t[f] > b)
        if "Schema" in criteria:
            wanted = {(c["Name"], c["DataType"]) for c in criteria["Schema"]}
            checks.append(lambda t: wanted <= {(c["Name"], c["DataType"]) for c in t["Schema"]})
        if "Tags" in request:
            stored = {t["TransformId"]: t.get("Tags", {}) for t in self.registry.all()}
            checks.append(lambda t: request["Tags"].items() <= stored[t["TransformId"]].items())
        selected = [t for t in transforms if all(check(t) for check in checks)]
        sort = request.get("Sort", {"Column": "CREATED", "SortDirection": "ASCENDING"})
        key = {
            "NAME": lambda t: t["Name"],
            "TRANSFORM_TYPE": lambda t: t["Parameters"]["TransformType"],
            "STATUS": lambda t: t["Status"],
            "CREATED": lambda t: t["CreatedOn"],
            "LAST_MODIFIED": lambda t: t["LastModifiedOn"],
        }[sort["Column"]]
        return sorted(selected, key=lambda t: (key(t), t["TransformId"]), reverse=sort["SortDirection"] == "DESCENDING")

    def get_ml_transforms(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("GetMLTransforms", request)
        page, token = _page(self._filtered_transforms(request), request)
        return {"Transforms": page, **({"NextToken": token} if token else {})}

    def list_ml_transforms(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("ListMLTransforms", request)
        page, token = _page(self._filtered_transforms(request), request)
        return {"TransformIds": [t["TransformId"] for t in page], **({"NextToken": token} if token else {})}

    def update_ml_transform(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("UpdateMLTransform", request)
        with self.registry.exclusive():
            transform = self._transform(request["TransformId"])
            if "MaxCapacity" in request and ("WorkerType" in request or "NumberOfWorkers" in request):
                raise InvalidInputException("MaxCapacity: cannot be set together with WorkerType/NumberOfWorkers")
            merged = {**transform, **{k: v for k, v in request.items() if k != "TransformId"}}
            capacity = {k: merged[k] for k in ("MaxCapacity", "WorkerType", "NumberOfWorkers") if k in merged}
            if "MaxCapacity" in request:
                capacity = {"MaxCapacity": request["MaxCapacity"]}
            elif "WorkerType" in request or "NumberOfWorkers" in request:
                capacity.pop("MaxCapacity", None)
            self._check_capacity({**capacity, "MaxRetries": merged["MaxRetries"]})
            if "Parameters" in request:
                self._check_parameters(request["Parameters"], transform["Schema"])
            if "Name" in request and request["Name"] != transform["Name"] and self.registry.by_name(request["Name"]):
                raise AlreadyExistsException(f"Transform with name {request['Name']} already exists")
            for member in ("MaxCapacity", "WorkerType", "NumberOfWorkers"):
                merged.pop(member, None)
            merged.update(capacity, LastModifiedOn=utc_now().isoformat())
            self.registry.put(merged)
        return {"TransformId": request["TransformId"]}

    def delete_ml_transform(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("DeleteMLTransform", request)
        with self.registry.exclusive():
            self._transform(request["TransformId"])
            self.registry.delete(request["TransformId"])
        # Nothing could reach a deleted transform's runs any more: stop them now.
        for run in self.ledger.runs_of(request["TransformId"]):
            if run["status"] in ACTIVE_STATUSES:
                self.ledger.transition(run["task_run_id"], STOPPING, error_string="the transform was deleted")
                if run["launcher_handle"]:
                    self.launcher.stop(run["launcher_handle"], force=True)
                self.ledger.transition(run["task_run_id"], STOPPED)
        # After the runs are stopped, so that no import commits into the table being removed.
        self.labels(request["TransformId"]).drop()
        del self._label_stores[request["TransformId"]]
        return {"TransformId": request["TransformId"]}

    # -- task runs ----------------------------------------------------------------------------

    def start_ml_labeling_set_generation_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._start_output_run("StartMLLabelingSetGenerationTaskRun", LABELING_SET_GENERATION, request)

    def start_scheduled_labeling_set_generation(
        self, transform_id: str, output_s3_path: str, idempotency_key: str
    ) -> dict[str, Any]:
        """For schedulers (not an AWS operation): StartMLLabelingSetGenerationTaskRun at most
        once per `idempotency_key` (e.g. the schedule slot) and transform. A second trigger
        with the same key gets the first run's TaskRunId and `Started` false."""
        request = validate_request(
            "StartMLLabelingSetGenerationTaskRun", {"TransformId": transform_id, "OutputS3Path": output_s3_path}
        )
        if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidInputException(f"IdempotencyKey: must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        validate_location_uri("OutputS3Path", request["OutputS3Path"])
        task_run_id, started = self._start_task_run(
            request["TransformId"],
            LABELING_SET_GENERATION,
            {"output_s3_path": request["OutputS3Path"]},
            idempotency_key=idempotency_key,
        )
        return {"TaskRunId": task_run_id, "Started": started}

    def start_import_labels_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        """The import job checks the whole input before it stores anything; see glue_labeling.tasks."""
        request = validate_request("StartImportLabelsTaskRun", request)
        validate_location_uri("InputS3Path", request["InputS3Path"])
        try:
            # One import at a time per transform, so that "newest answer wins" means the
            # import started last. botocore's model declares ResourceNumberLimitExceeded, not
            # ConcurrentRunsExceeded, for this operation.
            task_run_id, _started = self._start_task_run(
                request["TransformId"],
                IMPORT_LABELS,
                {"input_s3_path": request["InputS3Path"], "replace_all_labels": request.get("ReplaceAllLabels", False)},
                sole_of_type=True,
            )
        except ConcurrentRunsExceededException as error:
            raise ResourceNumberLimitExceededException(error.message) from None
        return {"TaskRunId": task_run_id}

    def start_export_labels_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        # botocore's model declares no limit error for this operation; at the transform's limit
        # it gets ConcurrentRunsExceededException, as the other Start operations that declare one.
        return self._start_output_run("StartExportLabelsTaskRun", EXPORT_LABELS, request)

    def start_ml_evaluation_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Trains on most labels and tests on the rest; see glue_labeling.tasks.evaluate."""
        request = validate_request("StartMLEvaluationTaskRun", request)
        self._transform(request["TransformId"])
        labels = self.labels(request["TransformId"]).summary()
        if not labels.ready:
            raise MLTransformNotReadyException(
                f"Transform {request['TransformId']} is NOT_READY: it has {labels.matches} matching and "
                f"{labels.non_matches} non-matching labeled pairs; evaluation needs enough of both"
            )
        task_run_id, _started = self._start_task_run(request["TransformId"], EVALUATION, {})
        return {"TaskRunId": task_run_id}

    def _start_output_run(self, operation: str, task_type: str, request: dict[str, Any]) -> dict[str, Any]:
        """A Start operation whose run writes under OutputS3Path."""
        request = validate_request(operation, request)
        validate_location_uri("OutputS3Path", request["OutputS3Path"])
        task_run_id, _started = self._start_task_run(
            request["TransformId"], task_type, {"output_s3_path": request["OutputS3Path"]}
        )
        return {"TaskRunId": task_run_id}

    def _start_task_run(
        self,
        transform_id: str,
        task_type: str,
        run_fields: dict[str, Any],
        idempotency_key: str | None = None,
        sole_of_type: bool = False,
    ) -> tuple[str, bool]:
        """Admit a run of `task_type` with its own ledger fields (paths, flags) and launch its
        job; (the TaskRunId that stands, whether this call started it)."""
        transform = self._transform(transform_id)
        self.reconcile(transform_id)
        task_run_id = _new_id("tsk-")
        now = utc_now()
        admitted = self.ledger.admit(
            {
                **run_fields,
                "task_run_id": task_run_id,
                "transform_id": transform_id,
                "task_type": task_type,
                "status": STARTING,
                "log_group_name": str(self.settings.logs_dir / f"{task_run_id}.log"),
                "started_on": now,
                "last_modified_on": now,
                "timeout_minutes": transform.get("Timeout", DEFAULT_TIMEOUT_MINUTES),
                "launcher": self.launcher.name,
                "idempotency_key": idempotency_key,
            },
            self.settings.max_concurrent_runs_per_transform,
            launch=lambda: self.launcher.start(
                task_run_id, JOB_SCRIPTS[task_type], {"task-run-id": task_run_id, "transform-id": transform_id}
            ),
            sole_of_type=sole_of_type,
        )
        return admitted, admitted == task_run_id

    def _run(self, transform_id: str, task_run_id: str) -> dict[str, Any]:
        run = self.ledger.get(task_run_id)
        if run is None or run["transform_id"] != transform_id:
            raise EntityNotFoundException(f"Task run {task_run_id} of transform {transform_id} not found")
        return run

    def _run_view(self, run: dict[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "TransformId": run["transform_id"],
            "TaskRunId": run["task_run_id"],
            "Status": run["status"],
            "LogGroupName": run["log_group_name"],
            "Properties": {"TaskType": run["task_type"], **_task_properties(run)},
            "StartedOn": run["started_on"],
            "LastModifiedOn": run["last_modified_on"],
            "ExecutionTime": int(((run["completed_on"] or utc_now()) - run["started_on"]).total_seconds()),
        }
        if run["error_string"]:
            view["ErrorString"] = run["error_string"]
        if run["completed_on"]:
            view["CompletedOn"] = run["completed_on"]
        return view

    def get_ml_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("GetMLTaskRun", request)
        self._transform(request["TransformId"])
        self.reconcile(request["TransformId"])
        return self._run_view(self._run(request["TransformId"], request["TaskRunId"]))

    def get_ml_task_runs(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("GetMLTaskRuns", request)
        self._transform(request["TransformId"])
        self.reconcile(request["TransformId"])
        runs = self.ledger.runs_of(request["TransformId"])
        criteria = request.get("Filter", {})
        if "TaskRunType" in criteria:
            runs = [r for r in runs if r["task_type"] == criteria["TaskRunType"]]
        if "Status" in criteria:
            runs = [r for r in runs if r["status"] == criteria["Status"]]
        if "StartedBefore" in criteria:
            runs = [r for r in runs if r["started_on"] < criteria["StartedBefore"]]
        if "StartedAfter" in criteria:
            runs = [r for r in runs if r["started_on"] > criteria["StartedAfter"]]
        sort = request.get("Sort", {"Column": "STARTED", "SortDirection": "DESCENDING"})
        key = {"TASK_RUN_TYPE": "task_type", "STATUS": "status", "STARTED": "started_on"}[sort["Column"]]
        runs.sort(key=lambda r: (r[key], r["task_run_id"]), reverse=sort["SortDirection"] == "DESCENDING")
        page, token = _page(runs, request)
        return {"TaskRuns": [self._run_view(r) for r in page], **({"NextToken": token} if token else {})}

    def cancel_ml_task_run(self, request: dict[str, Any]) -> dict[str, Any]:
        request = validate_request("CancelMLTaskRun", request)
        self._transform(request["TransformId"])
        run = self._run(request["TransformId"], request["TaskRunId"])
        if run["status"] in ACTIVE_STATUSES and run["status"] != STOPPING:
            self.ledger.transition(run["task_run_id"], STOPPING)
            if run["launcher_handle"]:
                self.launcher.stop(run["launcher_handle"])
        self.reconcile(request["TransformId"])
        run = self._run(request["TransformId"], request["TaskRunId"])
        return {"TransformId": run["transform_id"], "TaskRunId": run["task_run_id"], "Status": run["status"]}

    # -- the sweeper --------------------------------------------------------------------------

    def reconcile(self, transform_id: str) -> None:
        """Settle active runs whose truth changed behind the ledger's back: a dead process
        (FAILED, or STOPPED if a stop was asked for), a run past its Timeout (killed, TIMEOUT),
        a stop that SIGTERM did not achieve within STOP_GRACE (killed, then STOPPED)."""
        now = utc_now()
        for run in self.ledger.runs_of(transform_id):
            if run["status"] not in ACTIVE_STATUSES:
                continue
            handle = run["launcher_handle"]
            alive = self.launcher.is_alive(handle) if handle else False
            overdue = now - run["started_on"] > dt.timedelta(minutes=run["timeout_minutes"])
            if run["status"] == STOPPING:
                if alive is False:
                    self.ledger.transition(run["task_run_id"], STOPPED)
                elif overdue or now - run["last_modified_on"] > STOP_GRACE:
                    self.launcher.stop(handle, force=True)
            elif overdue:
                if handle:
                    self.launcher.stop(handle, force=True)
                self.ledger.transition(
                    run["task_run_id"],
                    TIMEOUT,
                    error_string=f"the run exceeded the transform's Timeout of {run['timeout_minutes']} minutes",
                )
            elif alive is False:
                self._settle_ended_run(run, self.launcher.final_status(handle) if handle else None)

    def _settle_ended_run(self, run: dict[str, Any], platform_verdict: str | None) -> None:
        """The job is gone but never wrote a final status. The platform's verdict (EMR, Glue...)
        says why; SUCCEEDED from the platform still means FAILED here, because a job that
        succeeds writes SUCCEEDED itself, with its figures."""
        task_run_id = run["task_run_id"]
        if platform_verdict == TIMEOUT:
            self.ledger.transition(task_run_id, TIMEOUT, error_string="the platform ended the run at its time limit")
        elif platform_verdict == STOPPED:
            self.ledger.transition(task_run_id, STOPPING, error_string="the run was stopped on the platform")
            self.ledger.transition(task_run_id, STOPPED)
        else:
            self.ledger.transition(
                task_run_id,
                FAILED,
                error_string=f"the job process ended without reporting a final status; see {run['log_group_name']}",
            )
