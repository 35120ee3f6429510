"""Label-task tests run the job's work in this process, on the session's SparkSession.

`InProcessLauncher` admits runs without starting anything. Its handle has LocalLauncher's form
(host:pid:ticks) but names no host, so the sweeper (and a local launcher asked to stop it) leaves
the run alone, liveness unknown, until the test runs the job itself with `run_job`, the same
function the job scripts call.
"""

from __future__ import annotations

from typing import Any

from glue_labeling.job import TASKS
from glue_labeling.pipeline.run import run_task
from glue_labeling.settings import Settings


class InProcessLauncher:
    name = "in-process"

    def __init__(self) -> None:
        self.started: list[tuple[str, str, dict[str, str]]] = []

    def start(self, task_run_id: str, job: str, arguments: dict[str, str]) -> str:
        self.started.append((task_run_id, job, arguments))
        return f"in-process:0:{task_run_id}"

    def is_alive(self, handle: str) -> bool | None:
        return None

    def final_status(self, handle: str) -> str | None:
        return None

    def stop(self, handle: str, force: bool = False) -> None:
        """Nothing runs until `run_job`."""


def run_job(spark: Any, settings: Settings, task_run_id: str) -> int:
    """The job of `task_run_id`, as jobs/*.py run it (exit code 0 on success)."""
    return run_task(spark, settings, task_run_id, TASKS)
