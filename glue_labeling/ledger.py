"""The task-run ledger: one Delta row per ML task run, the single record of what happened.

Users query it with Spark SQL (`spark.read.format("delta").load(<ledger_uri>)`). Every status
change is a compare-and-set under the store's lock, so a late writer (a job finishing after a
cancel, a sweeper racing a job) cannot overwrite a status it did not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from glue_labeling.contract.errors import ConcurrentRunsExceededException
from glue_labeling.settings import Settings
from glue_labeling.store import DeltaRowStore

STARTING, RUNNING, STOPPING, STOPPED = "STARTING", "RUNNING", "STOPPING", "STOPPED"
SUCCEEDED, FAILED, TIMEOUT = "SUCCEEDED", "FAILED", "TIMEOUT"
ACTIVE_STATUSES = frozenset({STARTING, RUNNING, STOPPING})
FINAL_STATUSES = frozenset({STOPPED, SUCCEEDED, FAILED, TIMEOUT})

# Task types (botocore's TaskType enum) of the runs this service starts.
LABELING_SET_GENERATION, IMPORT_LABELS, EXPORT_LABELS = "LABELING_SET_GENERATION", "IMPORT_LABELS", "EXPORT_LABELS"
EVALUATION = "EVALUATION"

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    STARTING: frozenset({RUNNING, FAILED, STOPPING, STOPPED, TIMEOUT}),
    RUNNING: frozenset({SUCCEEDED, FAILED, STOPPING, TIMEOUT}),
    STOPPING: frozenset({STOPPED}),
}

_TIMESTAMP = pa.timestamp("us", tz="UTC")

LEDGER_SCHEMA = pa.schema(
    [
        ("task_run_id", pa.string()),
        ("transform_id", pa.string()),
        ("task_type", pa.string()),
        ("status", pa.string()),
        ("output_s3_path", pa.string()),
        ("error_string", pa.string()),
        ("log_group_name", pa.string()),
        ("started_on", _TIMESTAMP),
        ("last_modified_on", _TIMESTAMP),
        ("completed_on", _TIMESTAMP),
        ("timeout_minutes", pa.int32()),
        ("launcher", pa.string()),
        ("launcher_handle", pa.string()),
        # Set by scheduled starts (e.g. the schedule slot): one run per key and transform.
        ("idempotency_key", pa.string()),
        ("records_read", pa.int64()),
        ("candidate_pairs", pa.int64()),
        ("labeling_sets_written", pa.int64()),
        # Stage timings, pairs per blocking rule, largest block...: JSON, as the job reports them.
        ("run_report", pa.string()),
        # IMPORT_LABELS runs: where the labels come from, and whether they replace the stored
        # ones. Last, so that a ledger written by an earlier release gains them as it is written.
        ("input_s3_path", pa.string()),
        ("replace_all_labels", pa.bool_()),
    ]
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TaskRunLedger:
    def __init__(self, settings: Settings) -> None:
        self._store = DeltaRowStore(settings.ledger_location, LEDGER_SCHEMA, "task_run_id", settings, "ledger")

    @property
    def uri(self) -> str:
        return self._store.uri

    def admit(self, run: dict[str, Any], limit: int, launch: Callable[[], str], sole_of_type: bool = False) -> str:
        """Insert `run` (STARTING) unless its transform already has `limit` active runs (or,
        with `sole_of_type`, an active run of the same task type), and return its TaskRunId.

        `launch` starts the run's job and returns its handle; it runs after the check and
        before the insert, inside the lock, so that a run is admitted, launched and recorded
        with its handle in one commit. A launch that fails is recorded as a FAILED run.
        A run with an `idempotency_key` already used for its transform is not started again:
        the earlier run's TaskRunId is returned instead."""
        with self._store.exclusive():
            key = run.get("idempotency_key")
            if key is not None:
                earlier = [r for r in self.runs_of(run["transform_id"]) if r.get("idempotency_key") == key]
                if earlier:
                    return earlier[0]["task_run_id"]
            active = [r for r in self.runs_of(run["transform_id"]) if r["status"] in ACTIVE_STATUSES]
            if len(active) >= limit:
                raise ConcurrentRunsExceededException(
                    f"Transform {run['transform_id']} already has {len(active)} task runs in "
                    f"STARTING/RUNNING/STOPPING (limit {limit})"
                )
            same_type = [r["task_run_id"] for r in active if r["task_type"] == run["task_type"]]
            if sole_of_type and same_type:
                raise ConcurrentRunsExceededException(
                    f"Transform {run['transform_id']} already has a {run['task_type']} task run in progress "
                    f"({same_type[0]}); one at a time"
                )
            row = {**dict.fromkeys(LEDGER_SCHEMA.names), **run}
            try:
                row["launcher_handle"] = launch()
            except Exception as error:
                row.update(status=FAILED, completed_on=utc_now(), error_string=f"launch failed: {error}")
            self._store.insert([row])
            return row["task_run_id"]

    def get(self, task_run_id: str) -> dict[str, Any] | None:
        return self._store.get(task_run_id)

    def runs_of(self, transform_id: str) -> list[dict[str, Any]]:
        return self._store.rows(transform_id=transform_id)

    def all_runs(self) -> list[dict[str, Any]]:
        return self._store.rows()

    def transition(self, task_run_id: str, to_status: str, **fields: Any) -> bool:
        """Move a run to `to_status` if the lifecycle allows it from its current status.

        Returns False (and changes nothing) when the run already moved on, e.g. a job that
        finishes after CancelMLTaskRun put it in STOPPING."""
        with self._store.exclusive():
            run = self.get(task_run_id)
            if run is None or to_status not in ALLOWED_TRANSITIONS.get(run["status"], frozenset()):
                return False
            now = utc_now()
            run.update(fields, status=to_status, last_modified_on=now)
            if to_status in FINAL_STATUSES:
                run["completed_on"] = now
            self._store.upsert([run])
            return True

    def record(self, task_run_id: str, **fields: Any) -> None:
        """Attach figures or the launcher handle to a run without changing its status."""
        with self._store.exclusive():
            run = self.get(task_run_id)
            if run is None:
                raise KeyError(task_run_id)
            run.update(fields, last_modified_on=utc_now())
            self._store.upsert([run])
