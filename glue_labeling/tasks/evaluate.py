"""EVALUATION (StartMLEvaluationTaskRun): train the classifier on most of the labeled pairs,
score the held-out rest, and record FindMatchesMetrics, which GetMLTransform then returns.

The held-out pairs are chosen by a hash of the pair (glue_labeling.labels.metrics), the same
every time. Held-out pairs are featurized from the input records as training pairs are, so the
figures measure the classifier FindMatches and the labeling job use, at the transform's own
PrecisionRecallTradeoff threshold. The metrics go to the run's report (`find_matches_metrics`).
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.metrics import find_matches_metrics, is_held_out
from glue_labeling.labels.store import LabelStore
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import profile_columns
from glue_labeling.pipeline.classify import PairClassifier, labeled_features, train
from glue_labeling.pipeline.fellegi_sunter import multi_word_columns
from glue_labeling.pipeline.load import InputDataError, load_tables, with_record_id
from glue_labeling.pipeline.normalize import with_comparison_columns
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA, RunReport, match_threshold
from glue_labeling.settings import Settings

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


def evaluation_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    parameters = transform["Parameters"]["FindMatchesParameters"]
    key = parameters["PrimaryKeyColumnName"]
    training, test = split_labels(LabelStore(settings, run["transform_id"]).pairs().select(PAIR_COLUMNS).to_pylist())
    loaded = report.stage(
        "load",
        lambda: with_record_id(load_tables(spark, transform["InputRecordTables"], LocalCatalog(settings)), key).cache(),
        records_read=lambda df: df.count(),
    )
    compared = [c for c in loaded.columns if c not in (SOURCE, RECORD_ID, key)]
    records = with_comparison_columns(loaded, compared)
    multi_word = multi_word_columns(profile_columns(records, compared))

    def featured(pairs: list[dict[str, Any]]) -> DataFrame:
        labels = spark.createDataFrame([tuple(p[c] for c in PAIR_COLUMNS) for p in pairs], LABELED_PAIRS_SCHEMA)
        return labeled_features(labels, records, len(compared), multi_word)

    classifier: PairClassifier = report.stage(
        "train",
        lambda: train(featured(training), len(compared), multi_word),
        training_pairs=lambda model: model.training_pairs,
    )
    threshold = match_threshold(parameters.get("PrecisionRecallTradeoff", 0.5))
    metrics = report.stage(
        "evaluate",
        lambda: find_matches_metrics(
            [(row.match_score, row.is_match) for row in classifier.with_match_score(featured(test)).collect()],
            threshold,
            classifier.column_importances(compared),
        ),
        held_out_pairs=lambda _: len(test),
        find_matches_metrics=lambda found: found,
    )
    log.info("evaluated on %d held-out pairs: F1 %.3f", len(test), metrics["F1"])
    return {"records_read": report.figures["records_read"]}
