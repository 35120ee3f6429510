"""The job script's arguments, however the platform hands them over.

spark-submit (local, an EMR step, EMR Serverless) passes exactly what the launcher gave:
`--task-run-id tsk-... --transform-id tfm-...`, the settings being in the environment already.
A Glue job run cannot set environment variables, so the Glue launcher passes the settings as job
arguments, and Glue adds its own: `--JOB_ID j_... --task-run-id tsk-... --JOB_NAME labeling
--GLUE_LABELING_LEDGER_URI s3://... --TempDir s3://...`. Settings are read from the environment
(`load_settings`), so the GLUE_LABELING_* arguments are moved there first.

Only the standard library here: the job calls this before anything reads settings.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence

ENV_PREFIX = "GLUE_LABELING_"  # as glue_labeling.settings.ENV_PREFIX


def export_settings_arguments(argv: Sequence[str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Put every `--GLUE_LABELING_<FIELD> <value>` (or `--GLUE_LABELING_<FIELD>=<value>`) of
    `argv` into `environ` (default os.environ), overriding what is there: the run's arguments
    are the newer word. Return the other arguments, in order, for the job's own parser.

    A GLUE_LABELING_* argument with nothing after it, or followed by another --option, means the
    empty value (Glue passes an empty argument as a bare flag)."""
    environ = os.environ if environ is None else environ
    rest: list[str] = []
    position = 0
    while position < len(argv):
        token = argv[position]
        position += 1
        if not token.startswith("--" + ENV_PREFIX):
            rest.append(token)
            continue
        name, equals, value = token[2:].partition("=")
        if not equals and position < len(argv) and not argv[position].startswith("--"):
            value = argv[position]
            position += 1
        environ[name] = value
    return rest
