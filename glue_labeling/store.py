"""Small Delta tables for the control plane (ledger, registry, catalog), written with delta-rs.

Why delta-rs (the `deltalake` package) and not delta-spark: a Start request must not pay for a
JVM start, and a long-lived JVM would tie every door (CLI, HTTP, Python API) to one process.
delta-rs reads and commits a small table in milliseconds with no JVM, and the tables it writes
are ordinary Delta tables that Spark SQL reads (`spark.read.format("delta").load(uri)`).

Why a lock as well as Delta's optimistic concurrency: Delta serialises *commits*, but two
appends never conflict, so "count the active runs, then insert" could admit too many runs.
Every read-decide-write goes under `exclusive()`, a lock file (cross-process) plus a thread
lock, so the check and the commit cannot be split.

On S3 the lock file still lives on local disk, so it serialises writers on one host only.
Delta commits themselves stay safe with several writers because delta-rs creates each commit
file with S3's conditional put (If-None-Match), but admission across *hosts* needs one
control-plane process per ledger: run `glue-labeling serve` once and point every client at it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from filelock import FileLock, Timeout

from glue_labeling.contract.errors import OperationTimeoutException
from glue_labeling.settings import Settings

# Compact small files and write a checkpoint every this many commits, so reads stay fast.
MAINTENANCE_INTERVAL = 100

_thread_locks: dict[str, threading.RLock] = {}
_thread_locks_guard = threading.Lock()


def storage_options(settings: Settings) -> dict[str, str]:
    if not settings.s3_endpoint:
        return {}
    return {
        "AWS_ENDPOINT_URL": settings.s3_endpoint,
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
        "AWS_REGION": settings.s3_region,
        "AWS_ALLOW_HTTP": str(settings.s3_endpoint.startswith("http://")).lower(),
        "AWS_S3_ADDRESSING_STYLE": "path",
    }


def delta_rs_uri(uri: str) -> str:
    """delta-rs knows s3://; Hadoop's s3a:// names the same objects."""
    return "s3://" + uri[len("s3a://") :] if uri.startswith("s3a://") else uri


class DeltaRowStore:
    """One Delta table of rows keyed by `key`, read and written whole-row."""

    def __init__(self, uri: str, schema: pa.Schema, key: str, settings: Settings, name: str) -> None:
        self.uri = delta_rs_uri(uri)
        self.schema = schema
        self.key = key
        self._options = storage_options(settings)
        self._timeout = settings.operation_timeout_seconds
        settings.locks_dir.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(settings.locks_dir / f"{name}.lock"))
        with _thread_locks_guard:
            self._thread_lock = _thread_locks.setdefault(self.uri, threading.RLock())

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=self._timeout):
            raise OperationTimeoutException(f"Timed out waiting for {self.uri}")
        try:
            with self._file_lock.acquire(timeout=self._timeout):
                yield
        except Timeout:
            raise OperationTimeoutException(f"Timed out waiting for the lock on {self.uri}") from None
        finally:
            self._thread_lock.release()

    def _table(self) -> DeltaTable:
        if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
            with self.exclusive():
                if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
                    if "://" not in self.uri:
                        Path(self.uri).mkdir(parents=True, exist_ok=True)
                    DeltaTable.create(self.uri, schema=self.schema, storage_options=self._options)
        return DeltaTable(self.uri, storage_options=self._options)

    def rows(self, filters: list[tuple[str, str, Any]] | None = None) -> list[dict[str, Any]]:
        return self._table().to_pyarrow_table(filters=filters or None).to_pylist()

    def get(self, key_value: str) -> dict[str, Any] | None:
        found = self.rows([(self.key, "=", key_value)])
        return found[0] if found else None

    def insert(self, rows: list[dict[str, Any]]) -> None:
        table = self._table()
        write_deltalake(table, pa.Table.from_pylist(rows, schema=self.schema), mode="append")
        self._maintain(table)

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        table = self._table()
        (
            table.merge(
                pa.Table.from_pylist(rows, schema=self.schema),
                predicate=f"t.{self.key} = s.{self.key}",
                source_alias="s",
                target_alias="t",
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        self._maintain(table)

    def delete(self, key_value: str) -> None:
        escaped = key_value.replace("'", "''")
        self._table().delete(f"{self.key} = '{escaped}'")

    def _maintain(self, table: DeltaTable) -> None:
        table.update_incremental()
        if table.version() % MAINTENANCE_INTERVAL == 0:
            table.optimize.compact()
            table.create_checkpoint()
