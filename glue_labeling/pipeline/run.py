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
from glue_labeling.labels.metrics import UNSUPERVISED
from glue_labeling.labels.store import LabelStore
from glue_labeling.ledger import FAILED, RUNNING, SUCCEEDED, TaskRunLedger
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import (
    DEFAULT_MAX_BLOCK_SIZE,
    BlockingPlan,
    fuzzy_text_columns,
    minhash_band_width,
    minhash_bands,
    plan_blocking,
    profile_columns,
)
from glue_labeling.pipeline.classify import (
    CLASSIFIER_DECIDES,
    RIVAL_SCORE,
    PairClassifier,
    choose_scoring,
    labeled_records,
    score_supervised,
)
from glue_labeling.pipeline.cluster import connected_components
from glue_labeling.pipeline.compare import compared_candidates
from glue_labeling.pipeline.fellegi_sunter import (
    FellegiSunterModel,
    em_sample_share,
    records_term_frequencies,
    score_unsupervised,
)
from glue_labeling.pipeline.learn_blocking import learn_rules, missed_matches
from glue_labeling.pipeline.load import InputDataError, identified_records, load_tables
from glue_labeling.pipeline.minhash import with_band_keys
from glue_labeling.pipeline.normalize import with_comparison_columns
from glue_labeling.pipeline.sample import SamplingConfig, sample_labeling_sets
from glue_labeling.pipeline.write import (
    discard,
    final_location,
    labeling_set_rows,
    shown_keys,
    staging_location,
    write_labeling_set,
)
from glue_labeling.registry import TransformRegistry
from glue_labeling.settings import Settings
from glue_labeling.spark import driver_frame, release_checkpoint, sql_conf

log = logging.getLogger("glue_labeling.run")
LABELED_PAIRS_SCHEMA = "left_source int, left_key string, right_source int, right_key string, is_match boolean"
T = TypeVar("T")

# PrecisionRecallTradeoff 0.5 (neutral) puts the match threshold at even odds; 1.0 raises it
# to 0.9 (more evidence needed), 0.0 lowers it to 0.1.
NEUTRAL_THRESHOLD = 0.5
THRESHOLD_SPAN = 0.4


DEFAULT_SAMPLING = SamplingConfig()


class RunStopped(BaseException):
    """Raised in the driver when the launcher asks the run to stop (SIGTERM)."""


def match_threshold(precision_recall_tradeoff: float) -> float:
    return NEUTRAL_THRESHOLD + (precision_recall_tradeoff - 0.5) * 2 * THRESHOLD_SPAN


@dataclasses.dataclass(frozen=True)
class LabelingSetResult:
    location: str
    records: DataFrame  # the input with `_gl_id`, `_gl_source`
    scored_pairs: DataFrame  # (id_l, id_r, rule, match_score[, rival_score, classifier_decides once READY])
    plan: BlockingPlan  # the rules chosen, and every oversized block dropped


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


@dataclasses.dataclass(frozen=True)
class ScoredCandidates:
    records: DataFrame  # normalized, with `_gl_id`, `_gl_source` and the MinHash band keys
    plan: BlockingPlan
    pairs: DataFrame  # (id_l, id_r, rule, match_score[, RIVAL_SCORE, CLASSIFIER_DECIDES with labels]), checkpointed
    threshold: float
    compared: list[str]  # the compared columns, in `_gl_n<i>` order
    model: PairClassifier | FellegiSunterModel  # the model that scored `pairs`


# HotSpot compiles no method of more bytecode than this (its HugeMethodLimit).
HOTSPOT_HUGE_METHOD_LIMIT = 8000


def block_and_score(
    loaded: DataFrame,
    parameters: dict[str, Any],
    linkage: bool,
    report: RunReport,
    labels: DataFrame | None = None,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    rival_opinions: bool = False,
) -> ScoredCandidates:
    """profile -> plan blocking -> block -> score, on records with `_gl_id` and `_gl_source`
    (`report` has `records_read`). The score is the unsupervised model's, unless `labels`
    (stored labeled pairs) are given and a classifier trained on them beats it on held-out
    labels in some regions of its score, which the classifier then decides (choose_scoring);
    the report's `model` says which was chosen, where, and the held-out figures. With
    `labels`, blocking also learns from them (learn_blocking.learn_rules; the report's
    `blocking_rules_learned` says which rules and why). `rival_opinions`, with `labels`: the
    classifier scores every pair, also where it does not decide, and the pairs carry RIVAL_SCORE,
    the other model's score: where the two disagree, the next labeling set asks (sample.py), and
    the answers are what can hand the classifier a region the labels so far do not cover."""
    key = parameters["PrimaryKeyColumnName"]
    compared = [c for c in loaded.columns if c not in (SOURCE, RECORD_ID, key)]
    # Cached: the profile reads it, then the MinHash band keys are built on it; uncached, every
    # column would be normalized twice. Without the input's own columns, which no stage from here
    # to scoring reads: the records are cached twice (here and with their band keys), and at 1M
    # generated records caching them with the band keys took 13.6 s.
    normalized = with_comparison_columns(loaded, compared).drop(key, *compared).cache()
    profiles = report.stage(
        "profile", lambda: profile_columns(normalized, compared), column_profile=lambda ps: [vars(p) for p in ps]
    )
    rows = report.figures["records_read"]
    tradeoff = parameters.get("AccuracyCostTradeoff", 0.5)
    records = with_band_keys(
        normalized, fuzzy_text_columns(profiles, rows), minhash_bands(tradeoff), minhash_band_width(rows)
    ).cache()
    plan = report.stage(
        "plan_blocking",
        lambda: plan_blocking(records, profiles, rows, linkage, tradeoff, max_block_size),
        blocking_rules_considered=lambda plan: plan.report(),
        oversized_blocks=lambda plan: plan.oversized_report(limit=20),
    )
    normalized.unpersist()  # planning read every partition of `records`, so it is cached in full
    if labels is not None:
        plan = report.stage(
            "learn_blocking",
            lambda: learn_rules(records, plan, labels, rows, tradeoff, max_block_size),
            blocking_rules_learned=lambda learning: learning.report(),
        ).plan
    if not plan.rules:
        raise InputDataError("no column is informative enough to block on (all constant or mostly null)")

    def block() -> DataFrame:
        # The term frequencies go along with the records: the score reads the left record's.
        frequencies = records_term_frequencies(records, profiles, plan.single_column_costs(), rows)
        oversized = plan.oversized_keys()
        return compared_candidates(records, plan.rules, oversized, len(compared), frequencies, linkage, rows)

    # The records are at their blocks; their pairs are made and compared by each job that reads
    # `levels`: the model's fit on a share of the blocks, then the scores' checkpoint. Kept
    # instead (a local checkpoint of 5.8M pairs' levels at 1M generated records, 1.3 GB), they
    # were written once and read twice, and the young collections copied them for seconds.
    levels = report.stage("block", block, blocking_rules=lambda _: [rule.name for rule in plan.rules])
    threshold = match_threshold(parameters.get("PrecisionRecallTradeoff", 0.5))

    def checkpointed(pairs: DataFrame, *columns: str) -> DataFrame:
        """Only these columns of `pairs`, checkpointed: clustering and sampling each read every
        pair, and a local checkpoint keeps whole rows, so the levels or features a score was
        made of would be read and the score made again on each read."""
        # A score made of a term per compared column can make whole-stage codegen write one
        # method past the 8,000 bytes HotSpot compiles: when the unsupervised score was a Spark
        # expression (it is added up in MatchWeights.java now), ten columns, seven of them
        # term-frequency adjusted (1M generated records), ran interpreted, and checkpointing the
        # 5.8M scores took 24-26 s against 4.3-5.0 s with this limit, which sends a method that
        # large to Spark's split, compiled projections instead (Spark's own advice on HotSpot).
        # The classifier's features are such an expression still (score.with_features).
        with sql_conf(pairs.sparkSession, "spark.sql.codegen.hugeMethodLimit", str(HOTSPOT_HUGE_METHOD_LIMIT)):
            return pairs.select("id_l", "id_r", "rule", "match_score", *columns).localCheckpoint()

    def score() -> tuple[DataFrame, dict[str, Any], PairClassifier | FellegiSunterModel]:
        unsupervised, model = score_unsupervised(
            levels,
            records,
            profiles,
            plan.single_column_costs(),
            plan.columns_fixed_by_rule(),
            linkage,
            em_sample_share(plan.expected_pairs()),
        )
        unsupervised = checkpointed(unsupervised)
        described = model.describe(compared, [rule.name for rule in plan.rules])
        if labels is None:
            return unsupervised, {"chosen": UNSUPERVISED, **described}, model
        choice = choose_scoring(labels, records, profiles, unsupervised, threshold)
        if choice.chosen == UNSUPERVISED and not rival_opinions:
            return unsupervised, {**choice.describe(), **described}, model
        supervised, classifier = score_supervised(unsupervised, records, profiles, labels, choice.classifier_regions)
        supervised = checkpointed(supervised, RIVAL_SCORE, CLASSIFIER_DECIDES)
        release_checkpoint(unsupervised)  # 5.8M scores at 1M generated records, read no more
        if choice.chosen == UNSUPERVISED:
            return supervised, {**choice.describe(), **described}, model
        return supervised, {**choice.describe(), **classifier.describe(compared)}, classifier

    scored, _description, model = report.stage(
        "score",
        score,
        match_threshold=lambda _: threshold,
        model=lambda result: result[1],
        candidate_pairs_per_rule=lambda result: {
            plan.rules[row.rule].name: row["count"] for row in result[0].groupBy("rule").count().collect()
        },
    )
    return ScoredCandidates(records, plan, scored, threshold, compared, model)


def generate_labeling_set(
    spark: SparkSession,
    transform: dict[str, Any],
    output_uri: str,
    task_run_id: str,
    report: RunReport,
    catalog: LocalCatalog | None,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    earlier_labeling_sets: list[str] | None = None,
    labels: DataFrame | None = None,
) -> LabelingSetResult:
    """`earlier_labeling_sets`: locations of this transform's earlier labeling sets, whose
    records are not asked about again. `labels`: the transform's labeled pairs when it is
    READY; a classifier trained on them then scores the pairs in the regions of the
    unsupervised score where it beats that model on held-out labels (block_and_score), so the
    sets hold what the better model is unsure of, and no labeled record is asked about again."""
    parameters = transform["Parameters"].get("FindMatchesParameters", {})
    key = parameters["PrimaryKeyColumnName"]
    tables = transform["InputRecordTables"]
    linkage = len(tables) == 2

    loaded = report.stage(
        "load",
        lambda: identified_records(load_tables(spark, tables, catalog), key),
        records_read=lambda df: df.count(),
    )
    data_columns = [c for c in loaded.columns if c not in (SOURCE, RECORD_ID)]
    candidates = block_and_score(loaded, parameters, linkage, report, labels, max_block_size, rival_opinions=True)
    scored, threshold = candidates.pairs, candidates.threshold
    components, _rounds = report.stage(
        "cluster",
        lambda: connected_components(scored.where(F.col("match_score") >= threshold)),
        cluster_rounds=lambda result: result[1],
    )

    def excluded_records() -> frozenset[int]:
        labeled = set() if labels is None else labeled_records(labels)
        shown = shown_keys(spark, earlier_labeling_sets or [], key)
        if shown is None:
            return frozenset(labeled)
        joined = loaded.join(shown, F.col(f"`{key}`").cast("string") == F.col("key"))
        return frozenset(labeled | {row[RECORD_ID] for row in joined.select(RECORD_ID).collect()})

    missed = None
    if isinstance(candidates.model, PairClassifier) and sampling.missed_share > 0:
        # Only with the classifier: it scores any pair from the records alone (featured_pairs),
        # as it scored its labels; the unsupervised score of a pair outside the candidates would
        # need score_unsupervised's term frequencies joined on again.

        def probe() -> tuple[DataFrame, int]:
            found, probed = missed_matches(
                candidates.records,
                candidates.plan,
                scored,
                candidates.model,
                threshold,
                report.figures["records_read"],
                linkage,
                sampling.seed,
                max_block_size,
            )
            return found.localCheckpoint(), probed

        missed, _probed = report.stage(
            "probe",
            probe,
            probe_pairs=lambda result: result[1],
            missed_pairs=lambda result: result[0].count(),
        )
    sets = report.stage(
        "sample",
        lambda: sample_labeling_sets(
            spark, scored, components, threshold, sampling, excluded_records(), missed
        ).cache(),
        labeling_sets=lambda df: df.select("labeling_set_id").distinct().count(),
        labeling_set_rows=lambda df: df.count(),
    )
    location = report.stage(
        "write",
        lambda: write_labeling_set(spark, labeling_set_rows(loaded, sets, data_columns), output_uri, task_run_id),
        output_location=lambda location: location,
    )
    return LabelingSetResult(location, loaded, scored, candidates.plan)


# The work of one task type: given the session, the settings, the run's ledger row, its transform
# and the report, it does the run's work and returns the figures to record with SUCCEEDED. An
# InputDataError it raises ends the run FAILED with that message as the ErrorString.
TaskWork = Callable[[SparkSession, Settings, dict[str, Any], dict[str, Any], RunReport], dict[str, Any]]


def labels_frame(spark: SparkSession, store: LabelStore) -> DataFrame:
    """Every labeled pair in `store` (LABELED_PAIRS_SCHEMA): labels are few enough for the driver."""
    pairs = store.pairs().select(["left_source", "left_key", "right_source", "right_key", "is_match"])
    return driver_frame(spark, pairs.to_pandas(), LABELED_PAIRS_SCHEMA)


def training_labels(spark: SparkSession, settings: Settings, transform_id: str) -> DataFrame | None:
    """The transform's labeled pairs when there are enough to train on (the READY rule), else None."""
    store = LabelStore(settings, transform_id)
    return labels_frame(spark, store) if store.summary().ready else None


def labeling_set_generation_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    earlier = [
        final_location(other["output_s3_path"], other["task_run_id"])
        for other in TaskRunLedger(settings).runs_of(run["transform_id"])
        if other["task_type"] == run["task_type"] and other["status"] == SUCCEEDED
    ]
    location = generate_labeling_set(
        spark,
        transform,
        run["output_s3_path"],
        run["task_run_id"],
        report,
        LocalCatalog(settings),
        earlier_labeling_sets=earlier,
        labels=training_labels(spark, settings, run["transform_id"]),
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
