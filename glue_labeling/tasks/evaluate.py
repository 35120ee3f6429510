"""EVALUATION (StartMLEvaluationTaskRun): run the transform as FindMatches would with most of the
labeled pairs, and measure it on the held-out rest; record FindMatchesMetrics, which
GetMLTransform then returns.

The held-out pairs are chosen by a hash of the pair (glue_labeling.labels.metrics), the same
every time. The training labels go through block_and_score exactly as FindMatches' labels do:
blocking learns from them, and the classifier trained on them scores only where it beats the
unsupervised model on them (choose_scoring). So the figures are those of the model that would
actually be used (the report's `evaluated_model`: `unsupervised` or `classifier`), at the
transform's own PrecisionRecallTradeoff threshold; and, as in that choice, a held-out pair that
blocking does not propose scores 0: FindMatches would not join it. The metrics go to the run's
report (`find_matches_metrics`).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.metrics import find_matches_metrics, is_held_out
from glue_labeling.labels.store import LabelStore
from glue_labeling.pipeline.classify import labeled_pairs_within
from glue_labeling.pipeline.load import InputDataError, identified_records, load_tables
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA, RunReport, block_and_score
from glue_labeling.settings import Settings
from glue_labeling.spark import driver_frame

log = logging.getLogger("glue_labeling.evaluate")
PAIR_COLUMNS = ["left_source", "left_key", "right_source", "right_key", "is_match"]


def split_labels(pairs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training pairs, held-out pairs); each side must hold both a match and a non-match."""
    held_out = [is_held_out(p["left_source"], p["left_key"], p["right_source"], p["right_key"]) for p in pairs]
    training = [p for p, out in zip(pairs, held_out, strict=True) if not out]
    test = [p for p, out in zip(pairs, held_out, strict=True) if out]
    for name, side in (("training", training), ("held-out", test)):
        if {p["is_match"] for p in side} != {True, False}:
            raise InputDataError(
                f"the {name} share of the {len(pairs)} labeled pairs lacks a matching or a non-matching pair; "
                "label more pairs (StartImportLabelsTaskRun) and evaluate again"
            )
    return training, test


def held_out_scores(labels: DataFrame, scored: DataFrame, records: DataFrame) -> DataFrame:
    """(match_score, is_match) of each labeled pair (LABELED_PAIRS_SCHEMA) whose records are both
    in `records`: its score among the `scored` candidate pairs, 0 if blocking did not propose it."""
    return (
        labeled_pairs_within(labels, records)
        .join(scored.select("id_l", "id_r", "match_score"), ["id_l", "id_r"], "left")
        .select(F.coalesce(F.col("match_score"), F.lit(0.0)).alias("match_score"), "is_match")
    )


def evaluation_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    parameters = transform["Parameters"]["FindMatchesParameters"]
    key = parameters["PrimaryKeyColumnName"]
    tables = transform["InputRecordTables"]
    training, test = split_labels(LabelStore(settings, run["transform_id"]).pairs().select(PAIR_COLUMNS).to_pylist())

    def frame(pairs: list[dict[str, Any]]) -> DataFrame:
        return driver_frame(spark, pd.DataFrame(pairs, columns=PAIR_COLUMNS), LABELED_PAIRS_SCHEMA)

    loaded = report.stage(
        "load",
        lambda: identified_records(load_tables(spark, tables, LocalCatalog(settings)), key),
        records_read=lambda df: df.count(),
    )
    candidates = block_and_score(loaded, parameters, len(tables) == 2, report, frame(training))
    metrics = report.stage(
        "evaluate",
        lambda: find_matches_metrics(
            [
                (row.match_score, row.is_match)
                for row in held_out_scores(frame(test), candidates.pairs, loaded).collect()
            ],
            candidates.threshold,
            candidates.model.column_importances(candidates.compared),
        ),
        evaluated_model=lambda _: report.figures["model"]["chosen"],
        training_labels=lambda _: len(training),
        held_out_labels=lambda _: len(test),
        find_matches_metrics=lambda found: found,
    )
    log.info(
        "evaluated the %s model on %d held-out pairs: F1 %.3f",
        report.figures["model"]["chosen"],
        len(test),
        metrics["F1"],
    )
    return {"records_read": report.figures["records_read"]}
