"""What every job script (jobs/*.py) runs: one task run, from STARTING to a final status.

    spark-submit jobs/import_labels.py --task-run-id tsk-... --transform-id tfm-...

The work is chosen by the run's task type in the ledger (`TASKS`), not by the script, so any
job script runs any task run: the Glue launcher starts every run on the one Glue job the
operator made. The scripts exist per task type so that a process list, an EMR step or the
Spark UI says what runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from glue_labeling.launchers.job_arguments import export_settings_arguments
from glue_labeling.ledger import EVALUATION, EXPORT_LABELS, IMPORT_LABELS, LABELING_SET_GENERATION
from glue_labeling.pipeline.run import RunStopped, TaskWork, labeling_set_generation_task, run_task
from glue_labeling.settings import load_settings
from glue_labeling.spark import get_or_create_session
from glue_labeling.tasks.evaluate import evaluation_task
from glue_labeling.tasks.export_labels import export_labels_task
from glue_labeling.tasks.import_labels import import_labels_task

TASKS: dict[str, TaskWork] = {
    LABELING_SET_GENERATION: labeling_set_generation_task,
    IMPORT_LABELS: import_labels_task,
    EXPORT_LABELS: export_labels_task,
    EVALUATION: evaluation_task,
}


def _stop(signum: int, frame: object) -> None:
    raise RunStopped(f"signal {signum}")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """--task-run-id and --transform-id; GLUE_LABELING_* arguments (a Glue run's settings) go
    to the environment; other arguments (Glue's --JOB_NAME, --TempDir, ...) are ignored."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--task-run-id", required=True)
    parser.add_argument("--transform-id", required=True)
    args, _platform_arguments = parser.parse_known_args(export_settings_arguments(argv))
    return args


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    signal.signal(signal.SIGTERM, _stop)
    settings = load_settings()
    spark = get_or_create_session(settings, app_name=f"glue-labeling {args.task_run_id}")
    return run_task(spark, settings, args.task_run_id, TASKS)
