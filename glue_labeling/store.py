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
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from filelock import FileLock, Timeout
from pyarrow import fs

from glue_labeling.contract.errors import OperationTimeoutException
from glue_labeling.settings import Settings

# Reading a small table costs about one file open per data file (~1 ms each), so the store
# compacts once a table holds more than this many files (a compaction takes ~20 ms) ...
MAX_DATA_FILES = 8
# ... and writes a checkpoint every this many commits, so loading the log stays fast.
CHECKPOINT_INTERVAL = 100

_thread_locks: dict[str, threading.RLock] = {}
_thread_locks_guard = threading.Lock()


def storage_options(settings: Settings) -> dict[str, str]:
    # An unreachable store must fail within the operation timeout (OperationTimeoutException),
    # not after object_store's default three minutes of retries.
    bounded = {
        "timeout": f"{settings.operation_timeout_seconds}s",
        "retry_timeout": f"{settings.operation_timeout_seconds}s",
    }
    if not settings.s3_endpoint:
        return bounded
    return {
        **bounded,
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


def object_filesystem(uri: str, settings: Settings) -> tuple[fs.FileSystem, str]:
    """The filesystem holding `uri` (a local path or an s3:// URI) and the path within it.
    delta-rs has no "drop table", so removing one means removing its files."""
    if not uri.startswith("s3://"):
        return fs.LocalFileSystem(), uri
    if not settings.s3_endpoint:
        return fs.S3FileSystem(region=settings.s3_region), uri[len("s3://") :]
    scheme, endpoint = settings.s3_endpoint.split("://", 1)
    s3 = fs.S3FileSystem(
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        endpoint_override=endpoint,
        scheme=scheme,
    )
    return s3, uri[len("s3://") :]


class DeltaRowStore:
    """One Delta table of rows keyed by `key` (a column, or a tuple of columns), read and
    written whole-row."""

    def __init__(self, uri: str, schema: pa.Schema, key: str | tuple[str, ...], settings: Settings, name: str) -> None:
        self.uri = delta_rs_uri(uri)
        self.schema = schema
        self.key = key
        self._key_columns = (key,) if isinstance(key, str) else key
        self._options = storage_options(settings)
        self._settings = settings
        self._timeout = settings.operation_timeout_seconds
        settings.locks_dir.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(settings.locks_dir / f"{name}.lock"))
        with _thread_locks_guard:
            self._thread_lock = _thread_locks.setdefault(self.uri, threading.RLock())
        # Opening a table replays its log (tens of ms); a loaded table catches up with the
        # commits since in well under a millisecond. delta-rs tables are not shared between
        # threads, so each thread keeps its own.
        self._loaded = threading.local()

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
        try:
            return self._load_table()
        except OSError as error:
            raise OperationTimeoutException(f"Could not reach {self.uri}: {error}") from error

    def _load_table(self) -> DeltaTable:
        table = getattr(self._loaded, "table", None)
        if table is not None:
            table.update_incremental()
            return table
        if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
            with self.exclusive():
                if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
                    if "://" not in self.uri:
                        Path(self.uri).mkdir(parents=True, exist_ok=True)
                    DeltaTable.create(self.uri, schema=self.schema, storage_options=self._options)
        self._loaded.table = DeltaTable(self.uri, storage_options=self._options)
        return self._loaded.table

    def exists(self) -> bool:
        """Whether the table has been created; reading a table creates it, this does not."""
        return getattr(self._loaded, "table", None) is not None or DeltaTable.is_deltatable(
            self.uri, storage_options=self._options
        )

    def arrow(self, columns: list[str] | None = None) -> pa.Table:
        """The whole table (or some of its columns) as Arrow, without a row-by-row conversion.

        Scanned on the calling thread. A scan on Arrow's thread pool (what DeltaTable's
        to_pyarrow_table does) left pool threads that Python's exit sometimes tore down while
        still running: the process then aborted ("terminate called without an active
        exception", exit 134) after doing its work, apache/arrow#34314. `glue-labeling
        get-ml-task-run` aborted 10 times in 210 runs so, and 0 in 200 scanning here. The
        control plane's tables are small; a thread pool gains them nothing."""
        return self._table().to_pyarrow_dataset().to_table(columns=columns, use_threads=False)

    def rows(self, **equal_to: str) -> list[dict[str, Any]]:
        """Rows whose columns equal the given values. The filter is applied after the read:
        compacted files hold strings as string_view, which pushed-down filters reject."""
        table = self.arrow()
        for column, value in equal_to.items():
            table = table.filter(pc.equal(table[column], value))
        return table.to_pylist()

    @property
    def _single_key(self) -> str:
        if not isinstance(self.key, str):
            raise TypeError(f"{self.uri} is keyed by {self.key}: get and delete take one key column")
        return self.key

    def get(self, key_value: str) -> dict[str, Any] | None:
        found = self.rows(**{self._single_key: key_value})
        return found[0] if found else None

    def insert(self, rows: list[dict[str, Any]]) -> None:
        with self.exclusive():
            table = self._table()
            # schema_mode="merge" lets a table written by an earlier release gain new columns.
            write_deltalake(table, pa.Table.from_pylist(rows, schema=self.schema), mode="append", schema_mode="merge")
            self._maintain(table)

    def upsert(self, rows: list[dict[str, Any]] | pa.Table) -> None:
        """Insert `rows`, replacing the stored rows with the same key; one commit."""
        if not isinstance(rows, pa.Table):
            rows = pa.Table.from_pylist(rows, schema=self.schema)
        with self.exclusive():
            table = self._table()
            (
                table.merge(
                    rows.cast(self.schema),
                    predicate=" AND ".join(f"t.{column} = s.{column}" for column in self._key_columns),
                    source_alias="s",
                    target_alias="t",
                    merge_schema=True,
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
            self._maintain(table)

    def replace(self, rows: pa.Table) -> None:
        """Make `rows` the table's whole content, in one commit (readers see the old rows or
        the new ones, never a mix)."""
        with self.exclusive():
            table = self._table()
            write_deltalake(table, rows.cast(self.schema), mode="overwrite")
            self._maintain(table)

    def delete(self, key_value: str) -> None:
        escaped = key_value.replace("'", "''")
        with self.exclusive():
            table = self._table()
            table.delete(f"{self._single_key} = '{escaped}'")
            self._maintain(table)

    def drop(self) -> None:
        """Remove the whole table, log and data files: afterwards it does not exist."""
        with self.exclusive():
            filesystem, path = object_filesystem(self.uri, self._settings)
            if filesystem.get_file_info(path).type != fs.FileType.NotFound:
                filesystem.delete_dir(path)
            self._loaded.table = None

    def _maintain(self, table: DeltaTable) -> None:
        table.update_incremental()
        if len(table.file_uris()) > MAX_DATA_FILES:
            table.optimize.compact()
            table.update_incremental()
        if table.version() % CHECKPOINT_INTERVAL == 0:
            table.create_checkpoint()
