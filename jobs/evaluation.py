"""Spark job: one StartMLEvaluationTaskRun, from STARTING to a final status.

    spark-submit jobs/evaluation.py --task-run-id tsk-... --transform-id tfm-...

The same file runs under local spark-submit, as an EMR step and as a Glue job script; the
control plane (glue_labeling.service) launches it and the ledger records its outcome. The work
itself is in glue_labeling (see glue_labeling.job and glue_labeling.tasks.evaluate).
"""

from __future__ import annotations

import sys

from glue_labeling.job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
