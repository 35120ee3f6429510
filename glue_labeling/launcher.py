"""Launchers start the Spark job of a task run and answer "is it still alive?" and "stop it".

The local launcher runs `spark-submit` as a detached child process (its own process group, so
a stop reaches the JVM and the Python driver alike). Its handle is "host:pid:start-ticks": the
start time from /proc guards against a recycled pid being mistaken for the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from glue_labeling.settings import PROJECT_ROOT, Settings
from glue_labeling.spark import local_spark_conf

JOBS_DIR = PROJECT_ROOT / "jobs"


class Launcher(Protocol):
    name: str

    def start(self, task_run_id: str, job: str, arguments: dict[str, str]) -> str: ...

    def is_alive(self, handle: str) -> bool | None: ...

    def final_status(self, handle: str) -> str | None:
        """The task-run status the platform's verdict on an ended run implies (SUCCEEDED,
        FAILED, STOPPED, TIMEOUT); None while alive, or when the platform keeps no verdict."""
        ...

    def stop(self, handle: str, force: bool = False) -> None: ...


def _process_start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat, or None if the process is gone or a zombie (reaped here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
            os.waitpid(pid, os.WNOHANG)
        return None
    return fields[19]


class LocalLauncher:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def spark_submit_command(self, job: str, arguments: dict[str, str]) -> list[str]:
        spark_submit = Path(sys.executable).parent / "spark-submit"
        command = [str(spark_submit)]
        for key, value in local_spark_conf(self._settings).items():
            if key == "spark.master":
                command += ["--master", value]
            elif key == "spark.driver.memory":
                command += ["--driver-memory", value]
            else:
                command += ["--conf", f"{key}={value}"]
        command.append(str(JOBS_DIR / job))
        for key, value in arguments.items():
            command += [f"--{key}", value]
        return command

    def start(self, task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        self._settings.logs_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._settings.logs_dir / f"{task_run_id}.log"
        environment = {
            **os.environ,
            **self._settings.to_environment(),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                self.spark_submit_command(job, arguments),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=environment,
                cwd=PROJECT_ROOT,
            )
        return f"{socket.gethostname()}:{process.pid}:{_process_start_ticks(process.pid) or ''}"

    def is_alive(self, handle: str) -> bool | None:
        """None when the handle belongs to another host: liveness is unknowable from here."""
        host, pid, ticks = handle.rsplit(":", 2)
        if host != socket.gethostname():
            return None
        current = _process_start_ticks(int(pid))
        return current is not None and (not ticks or current == ticks)

    def final_status(self, handle: str) -> str | None:
        """Always None: an ended local process leaves no verdict but what the job wrote to the ledger."""
        return None

    def stop(self, handle: str, force: bool = False) -> None:
        if not self.is_alive(handle):
            return
        pid = int(handle.rsplit(":", 2)[1])
        with contextlib.suppress(ProcessLookupError):  # it ended since the check
            os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)


def launcher_for(settings: Settings) -> Launcher:
    """The launcher the `launcher` setting names: local, emr, emr-serverless or glue."""
    if settings.launcher == "local":
        return LocalLauncher(settings)
    from glue_labeling.launchers import REMOTE_LAUNCHERS, remote_launcher  # boto3 only when wanted

    if settings.launcher in REMOTE_LAUNCHERS:
        return remote_launcher(settings)
    raise ValueError(f"unknown launcher {settings.launcher!r}; choose one of local, {', '.join(REMOTE_LAUNCHERS)}")
