"""One task run from STARTING to a final status, with the ledger following along; and the
labeling-set generation run: the stages in order.

Progress is visible while the run works: each stage logs a line to the run's log and records
its timing and figures in the run's ledger row (`run_report`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.ledger import FAILED, RUNNING, SUCCEEDED, TaskRunLedger
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import (
    DEFAULT_MAX_BLOCK_SIZE,
    candidate_pairs,
    default_rules,
    oversized_blocks,
    profile_columns,
    with_rule_keys,
    without_oversized,
)
from glue_labeling.pipeline.cluster import connected_components
from glue_labeling.pipeline.load import InputDataError, check_primary_key, load_tables, with_record_id
from glue_labeling.pipeline.normalize import with_comparison_columns
from glue_labeling.pipeline.sample import SamplingConfig, sample_labeling_sets
from glue_labeling.pipeline.score import column_weights, with_features, with_unsupervised_score
from glue_labeling.pipeline.write import discard, labeling_set_rows, staging_location, write_labeling_set
from glue_labeling.registry import TransformRegistry
from glue_labeling.settings import Settings

log = logging.getLogger("glue_labeling.run")
T = TypeVar("T")

# PrecisionRecallTradeoff 0.5 (neutral) puts the unsupervised match threshold here; 1.0 raises
# it (more evidence needed), 0.0 lowers it.
NEUTRAL_THRESHOLD = 0.6
THRESHOLD_SPAN = 0.2


DEFAULT_SAMPLING = SamplingConfig()


class RunStopped(BaseException):
    """Raised in the driver when the launcher asks the run to stop (SIGTERM)."""


def match_threshold(precision_recall_tradeoff: float) -> float:
    return NEUTRAL_THRESHOLD + (precision_recall_tradeoff - 0.5) * 2 * THRESHOLD_SPAN


@dataclasses.dataclass(frozen=True)
class LabelingSetResult:
    location: str
    records: DataFrame  # the input with `_gl_id`, `_gl_source`
    scored_pairs: DataFrame  # (id_l, id_r, rule, _gl_sim<i>..., match_score), checkpointed


class RunReport:
    """Stage timings and figures; `publish` gets them after every stage (the job writes them
    to the run's ledger row, so progress shows while the run works)."""

    def __init__(self, publish: Callable[[dict[str, Any]], None] = lambda figures: None) -> None:
        self.publish = publish
        self.figures: dict[str, Any] = {"stage_seconds": {}}

    def stage(self, name: str, work: Callable[[], T], **describe: Callable[[T], Any]) -> T:
        log.info("stage %s: started", name)
        started = time.perf_counter()
        result = work()
        self.figures["stage_seconds"][name] = round(time.perf_counter() - started, 3)
        for key, figure in describe.items():
            self.figures[key] = figure(result)
        log.info(
            "stage %s: done in %.1fs %s",
            name,
            self.figures["stage_seconds"][name],
            {k: self.figures[k] for k in describe},
        )
        self.publish(self.figures)
        return result


def generate_labeling_set(
    spark: SparkSession,
    transform: dict[str, Any],
    output_uri: str,
    task_run_id: str,
    report: RunReport,
    catalog: LocalCatalog | None,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
) -> LabelingSetResult:
    parameters = transform["Parameters"].get("FindMatchesParameters", {})
    key = parameters["PrimaryKeyColumnName"]
    tables = transform["InputRecordTables"]
    linkage = len(tables) == 2

    def load() -> DataFrame:
        raw = load_tables(spark, tables, catalog)
        check_primary_key(raw, key)
        return with_record_id(raw, key)

    loaded = report.stage("load", lambda: load().cache(), records_read=lambda df: df.count())
    data_columns = [c for c in loaded.columns if c not in (SOURCE, RECORD_ID)]
    compared = [c for c in data_columns if c != key]
    records = with_comparison_columns(loaded, compared).cache()
    profiles = report.stage(
        "profile", lambda: profile_columns(records, compared), column_profile=lambda ps: [vars(p) for p in ps]
    )
    rules = default_rules(profiles, report.figures["records_read"], parameters.get("AccuracyCostTradeoff", 0.5))
    if not rules:
        raise InputDataError("no column is informative enough to block on (all constant or mostly null)")

    def block() -> DataFrame:
        keyed = with_rule_keys(records, rules).cache()
        giants = [(r.rule, r.key) for r in oversized_blocks(keyed, rules, max_block_size).collect()]
        report.figures["oversized_blocks"] = [{"rule": rules[i].name, "key": k} for i, k in giants[:20]]
        return candidate_pairs(without_oversized(keyed, giants), len(rules), linkage).localCheckpoint()

    pairs = report.stage(
        "block",
        block,
        blocking_rules=lambda _: [rule.name for rule in rules],
        candidate_pairs_per_rule=lambda df: {
            rules[row.rule].name: row["count"] for row in df.groupBy("rule").count().collect()
        },
    )
    candidate_total = sum(report.figures["candidate_pairs_per_rule"].values())
    if candidate_total == 0:
        raise InputDataError("blocking found no candidate pairs: there is nothing to ask about")
    threshold = match_threshold(parameters.get("PrecisionRecallTradeoff", 0.5))
    scored = report.stage(
        "score",
        lambda: with_unsupervised_score(
            with_features(pairs, records, len(compared)), column_weights(profiles)
        ).localCheckpoint(),
        match_threshold=lambda _: threshold,
    )
    components, _rounds = report.stage(
        "cluster",
        lambda: connected_components(scored.where(F.col("match_score") >= threshold)),
        cluster_rounds=lambda result: result[1],
    )
    sets = report.stage(
        "sample",
        lambda: sample_labeling_sets(spark, scored, components, threshold, sampling).cache(),
        labeling_sets=lambda df: df.select("labeling_set_id").distinct().count(),
        labeling_set_rows=lambda df: df.count(),
    )
    location = report.stage(
        "write",
        lambda: write_labeling_set(spark, labeling_set_rows(loaded, sets, data_columns), output_uri, task_run_id),
        output_location=lambda location: location,
    )
    return LabelingSetResult(location, loaded, scored)


# The work of one task type: given the session, the settings, the run's ledger row, its transform
# and the report, it does the run's work and returns the figures to record with SUCCEEDED. An
# InputDataError it raises ends the run FAILED with that message as the ErrorString.
TaskWork = Callable[[SparkSession, Settings, dict[str, Any], dict[str, Any], RunReport], dict[str, Any]]


def labeling_set_generation_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    location = generate_labeling_set(
        spark, transform, run["output_s3_path"], run["task_run_id"], report, LocalCatalog(settings)
    ).location
    log.info("labeling set at %s", location)
    return {
        "records_read": report.figures["records_read"],
        "candidate_pairs": sum(report.figures["candidate_pairs_per_rule"].values()),
        "labeling_sets_written": report.figures["labeling_sets"],
    }


def run_task(spark: SparkSession, settings: Settings, task_run_id: str, tasks: Mapping[str, TaskWork]) -> int:
    """Run the ledger's task run `task_run_id` to a final status with the work `tasks` names
    for its task type; 0 on success."""
    ledger = TaskRunLedger(settings)
    run = ledger.get(task_run_id)
    if run is None:
        raise SystemExit(f"task run {task_run_id} is not in the ledger at {ledger.uri}")
    if not ledger.transition(task_run_id, RUNNING):
        log.warning("task run %s is %s; not starting it", task_run_id, run["status"])
        return 1
    report = RunReport(lambda figures: ledger.record(task_run_id, run_report=json.dumps(figures)))
    try:
        transform = TransformRegistry(settings).get(run["transform_id"])
        if transform is None:
            raise InputDataError(f"transform {run['transform_id']} was deleted")
        if run["task_type"] not in tasks:
            raise InputDataError(f"this job cannot run {run['task_type']} task runs")
        figures = tasks[run["task_type"]](spark, settings, run, transform, report)
    except RunStopped:
        log.warning("task run %s stopped on request", task_run_id)
        _discard_staging(spark, run["output_s3_path"], task_run_id)
        return 1
    except Exception as error:
        log.exception("task run %s failed", task_run_id)
        _discard_staging(spark, run["output_s3_path"], task_run_id)
        message = str(error) if isinstance(error, InputDataError) else f"{type(error).__name__}: {error}"
        ledger.transition(task_run_id, FAILED, error_string=message[:2000], run_report=json.dumps(report.figures))
        return 1
    ledger.transition(task_run_id, SUCCEEDED, **figures, run_report=json.dumps(report.figures))
    log.info("task run %s SUCCEEDED", task_run_id)
    return 0


def _discard_staging(spark: SparkSession, output_uri: str | None, task_run_id: str) -> None:
    if output_uri is None:  # a run that writes no output (IMPORT_LABELS)
        return
    try:
        discard(spark, staging_location(output_uri, task_run_id))
    except Exception:
        log.warning("could not remove the staging output of %s", task_run_id)
