"""Test helpers shared by the contract and admission tests.

`SleepLauncher` is a `LocalLauncher` whose job is a harmless real OS process instead of
spark-submit: a shell in its own session that sleeps, and on SIGTERM lingers half a second
before exiting (so a cancelled run is observably STOPPING before it becomes STOPPED). It keeps
LocalLauncher's handle format (`host:pid:ticks`) and its real `is_alive`/`stop`. `kill_jobs`
ends every job of a state directory; fixtures call it at teardown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from deltalake import DeltaTable

from glue_labeling.catalog import LocalCatalog
from glue_labeling.contract import GlueError
from glue_labeling.launcher import LocalLauncher, _process_start_ticks
from glue_labeling.ledger import TaskRunLedger
from glue_labeling.settings import Settings

# On SIGTERM (sent to the whole process group) the background sleep dies at once and the shell
# exits 0.5 s later, or once the hold file ($1) is gone if it exists; SIGKILL ends both at once.
JOB_SCRIPT = "trap 'sleep 0.5; while [ -e \"$1\" ]; do sleep 0.05; done; exit 143' TERM; sleep 600 & wait"

PEOPLE_CSV = "id,name,city\n1,Ann,Oslo\n2,Bob,Rome\n3,Ann,Oslo\n4,Cid,Lima\n5,Bob,Rome\n"


def hold_file(settings: Settings) -> Path:
    """While this file exists, a SleepLauncher job asked to stop stays alive (the run STOPPING)."""
    return Path(settings.state_dir) / "hold-stopping-jobs"


def _wait_until_ready(pid: int, timeout: float = 10.0) -> None:
    """Until the shell has set its trap and started its sleep: a signal sent earlier would end
    the shell at once, or miss a sleep forked after it (leaving an orphan)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if children.read_text().split():
                return
        except OSError:  # the process is gone
            return
        time.sleep(0.002)


class SleepLauncher(LocalLauncher):
    """LocalLauncher with `sleep` in place of spark-submit."""

    name = "sleep"
    script = JOB_SCRIPT
    # The processes started in this interpreter, by state directory, to kill and reap at teardown.
    spawned: ClassVar[dict[str, list[subprocess.Popen[bytes]]]] = {}
    _spawned_guard: ClassVar[threading.Lock] = threading.Lock()

    def start(self, task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        process = subprocess.Popen(  # a fixed, harmless command
            ("sh", "-c", self.script, "sleep-job", str(hold_file(self._settings))),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        with self._spawned_guard:
            self.spawned.setdefault(self._settings.state_dir, []).append(process)
        _wait_until_ready(process.pid)
        return f"{socket.gethostname()}:{process.pid}:{_process_start_ticks(process.pid) or ''}"


class StubbornSleepLauncher(SleepLauncher):
    """A job that ignores SIGTERM (as a hung JVM may): only SIGKILL ends it."""

    script = "trap '' TERM; sleep 600"


def kill_jobs(settings: Settings) -> None:
    """SIGKILL every job process recorded in the ledger of `settings` (whoever started it), and
    kill and reap the ones this interpreter started on that state directory."""
    launcher = SleepLauncher(settings)
    ledger = TaskRunLedger(settings)
    # Reading a ledger that was never written would create it: skip that (it costs a commit).
    if DeltaTable.is_deltatable(ledger.uri):
        with contextlib.suppress(GlueError):
            for run in ledger.all_runs():
                if run["launcher_handle"]:
                    launcher.stop(run["launcher_handle"], force=True)
    with SleepLauncher._spawned_guard:
        processes = SleepLauncher.spawned.pop(settings.state_dir, [])
    for process in processes:
        # The whole group (the job's own session), even if its leader already exited.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def register_people(spark: Any, settings: Settings, directory: Path) -> str:
    """Register a 5-row CSV (id, name, city) as db.people; return the catalog's location."""
    directory.mkdir(parents=True, exist_ok=True)
    csv = directory / "people.csv"
    csv.write_text(PEOPLE_CSV)
    LocalCatalog(settings).register(spark, "db", "people", str(csv), "csv")
    return settings.catalog_location


def find_matches(primary_key: str) -> dict[str, Any]:
    return {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": primary_key}}


_shared_catalogs: dict[str, str] = {}


def shared_people_catalog(spark: Any, base_settings: Settings, tmp_path_factory: Any) -> str:
    """db.people registered once per test session (Spark reads the CSV once); point a test's
    settings at it with `dataclasses.replace(settings, catalog_uri=...)`. Read-only."""
    if "people" not in _shared_catalogs:
        root = tmp_path_factory.mktemp("people-catalog")
        state = dataclasses.replace(base_settings, state_dir=str(root / "state"))
        _shared_catalogs["people"] = register_people(spark, state, root)
    return _shared_catalogs["people"]


def transform_request(name: str = "people-dedup", **overrides: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "InputRecordTables": [{"DatabaseName": "db", "TableName": "people"}],
        "Parameters": find_matches("id"),
        "Role": "arn:aws:iam::123456789012:role/glue",
        **overrides,
    }


def admit_run(
    settings: Settings,
    transform_id: str,
    task_run_id: str,
    *,
    started: dt.datetime | None = None,
    launch: Callable[[], str] | None = None,
    timeout_minutes: int = 2880,
) -> None:
    """Record a STARTING run in the ledger directly, as a Start made at `started` would have.
    `launch` returns its launcher handle; by default a real SleepLauncher job is started."""
    started = started or dt.datetime.now(dt.timezone.utc)
    launcher = SleepLauncher(settings)
    TaskRunLedger(settings).admit(
        {
            "task_run_id": task_run_id,
            "transform_id": transform_id,
            "task_type": "LABELING_SET_GENERATION",
            "status": "STARTING",
            "output_s3_path": "s3://labeling-bucket/sets/",
            "log_group_name": str(settings.logs_dir / f"{task_run_id}.log"),
            "started_on": started,
            "last_modified_on": started,
            "timeout_minutes": timeout_minutes,
            "launcher": launcher.name,
        },
        settings.max_concurrent_runs_per_transform,
        launch=launch or (lambda: launcher.start(task_run_id, "labeling_set_generation.py", {})),
    )


def call_in_worker(settings: Settings, operation: str, request: dict[str, Any], barrier: Any, results: Any) -> None:
    """Body of a spawned worker process: build an own client on `settings`, wait for every
    worker at the barrier, make one call, report ("ok", response) or ("error", code)."""
    from glue_labeling.client import GlueLabelingClient
    from glue_labeling.service import GlueLabelingService

    client = GlueLabelingClient(service=GlueLabelingService(settings, launcher=SleepLauncher(settings)))
    # Warm up (imports, Delta table handles) before the barrier so the calls really overlap.
    client.service.ledger.runs_of("warm-up")
    client.service.registry.get("warm-up")
    barrier.wait(timeout=120)
    try:
        results.put(("ok", client.service.call(operation, request)))
    except GlueError as error:
        results.put(("error", error.code))
    except BaseException as error:  # report, don't hang the parent
        results.put(("crash", repr(error)))
