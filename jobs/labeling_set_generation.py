"""Spark job: one StartMLLabelingSetGenerationTaskRun, from STARTING to a final status.

    spark-submit jobs/labeling_set_generation.py --task-run-id tsk-... --transform-id tfm-...

The same file runs under local spark-submit, as an EMR step and as a Glue job script; the
control plane (glue_labeling.service) launches it and the ledger records its outcome.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from glue_labeling.launchers.job_arguments import export_settings_arguments
from glue_labeling.pipeline.run import RunStopped, run_task
from glue_labeling.settings import load_settings
from glue_labeling.spark import get_or_create_session


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
    return run_task(spark, settings, args.task_run_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
