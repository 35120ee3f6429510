"""FindMatches itself: add `match_id` to every input record, records of one match group sharing it.

What Glue's `FindMatches.apply(frame, transformId)` did, called from the user's own Spark job:

    from glue_labeling import find_matches
    matched = find_matches.apply(spark, people, "tfm-...")

The stages are the labeling job's (block -> score -> cluster) on the given frame, with the same
choice of score (glue_labeling.pipeline.run.block_and_score): once the transform is READY, the
classifier trained on its labels in the regions of the unsupervised score where it beats that
model on held-out labels, the unsupervised model elsewhere.
A match group is a connected component of the pairs scored at or above the threshold that
PrecisionRecallTradeoff sets; a record in no such pair is a group of its own. `match_id` is the
group's smallest record id (`_gl_id`, a stable hash of table and key), so the same input and
labels give the same ids.

EnforceProvidedLabels: labeled matches are joined whatever the model says, and a labeled
non-match is never a direct edge. Two records labeled apart can still meet in one group through
a third record that matches both: grouping is transitive, labels are pairwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.store import LabelStore
from glue_labeling.launchers.job_arguments import export_settings_arguments
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.classify import labeled_pair_ids, labeled_pairs_within
from glue_labeling.pipeline.cluster import connected_components
from glue_labeling.pipeline.load import InputDataError, identified_records, load_tables
from glue_labeling.pipeline.run import RunReport, block_and_score, labels_frame
from glue_labeling.pipeline.write import hadoop_uri
from glue_labeling.registry import TransformRegistry
from glue_labeling.settings import Settings, load_settings
from glue_labeling.spark import get_or_create_session

log = logging.getLogger("glue_labeling.find_matches")
MATCH_ID = "match_id"


def enforce_labels(edges: DataFrame, labels: DataFrame, record_ids: DataFrame) -> DataFrame:
    """Match edges (id_l, id_r) with the labels winning: labeled non-matches removed, labeled
    matches between records of this input added."""
    forced = labeled_pairs_within(labels, record_ids).where("is_match").select("id_l", "id_r")
    apart = labeled_pair_ids(labels).where(~F.col("is_match")).select("id_l", "id_r")
    return edges.join(apart, ["id_l", "id_r"], "left_anti").unionByName(forced).distinct()


def with_match_id(records: DataFrame, components: DataFrame) -> DataFrame:
    """`records` (with `_gl_id`) plus `match_id`: the component's id, or the record's own."""
    return (
        records.join(components.withColumnRenamed("id", RECORD_ID), RECORD_ID, "left")
        .withColumn(MATCH_ID, F.coalesce(F.col("component"), F.col(RECORD_ID)))
        .drop("component")
    )


def find_matches(
    records: DataFrame,
    parameters: dict[str, Any],
    linkage: bool,
    labels: DataFrame | None,
    ready: bool,
    report: RunReport,
) -> DataFrame:
    """`records` (the input, `_gl_source` tagging the table) with `match_id`. `labels`: the
    transform's labeled pairs (LABELED_PAIRS_SCHEMA), trained on when `ready`."""
    key = parameters["PrimaryKeyColumnName"]
    loaded = identified_records(records, key)
    report.figures["records_read"] = loaded.count()
    candidates = block_and_score(loaded, parameters, linkage, report, labels if ready else None)
    edges = candidates.pairs.where(F.col("match_score") >= candidates.threshold).select("id_l", "id_r")
    if labels is not None and parameters.get("EnforceProvidedLabels", False):
        edges = enforce_labels(edges, labels, loaded)
    components, _rounds = report.stage(
        "cluster", lambda: connected_components(edges.localCheckpoint()), cluster_rounds=lambda result: result[1]
    )
    return with_match_id(loaded, components).drop(RECORD_ID, SOURCE)


def apply(
    spark: SparkSession,
    frame: DataFrame,
    transform_id: str,
    settings: Settings | None = None,
    linked_frame: DataFrame | None = None,
) -> DataFrame:
    """`frame` with `match_id`, by the transform `transform_id`'s parameters and labels. For a
    linkage transform pass the second table as `linked_frame`; the result holds both."""
    records = frame.withColumn(SOURCE, F.lit(0))
    if linked_frame is not None:
        records = records.unionByName(linked_frame.withColumn(SOURCE, F.lit(1)))
    return _run(spark, settings or load_settings(), transform_id, records, linked_frame is not None, RunReport())


def _run(
    spark: SparkSession, settings: Settings, transform_id: str, records: DataFrame, linkage: bool, report: RunReport
) -> DataFrame:
    transform = TransformRegistry(settings).get(transform_id)
    if transform is None:
        raise InputDataError(f"transform {transform_id} is not in the registry at {settings.state_dir}")
    store = LabelStore(settings, transform_id)
    summary = store.summary()
    labels = labels_frame(spark, store) if summary.pairs else None
    parameters = transform["Parameters"]["FindMatchesParameters"]
    return find_matches(records, parameters, linkage, labels, summary.ready, report)


def run_transform(spark: SparkSession, settings: Settings, transform_id: str, output_uri: str) -> int:
    """The transform over its own input tables, written as Parquet to `output_uri` with
    `match_id`; the number of match groups of more than one record."""
    transform = TransformRegistry(settings).get(transform_id)
    if transform is None:
        raise InputDataError(f"transform {transform_id} is not in the registry at {settings.state_dir}")
    tables = transform["InputRecordTables"]
    records = load_tables(spark, tables, LocalCatalog(settings))
    report = RunReport(lambda figures: log.info("figures %s", figures))
    matched = _run(spark, settings, transform_id, records, len(tables) == 2, report).cache()
    matched.write.mode("errorifexists").parquet(hadoop_uri(output_uri))
    return matched.groupBy(MATCH_ID).count().where(F.col("count") > 1).count()


def main(argv: list[str]) -> int:
    """jobs/find_matches.py: --transform-id, --output-path."""
    parser = argparse.ArgumentParser(description="Run a FindMatches transform over its input tables")
    parser.add_argument("--transform-id", required=True)
    parser.add_argument("--output-path", required=True, help="where the input with match_id is written (Parquet)")
    args, _platform_arguments = parser.parse_known_args(export_settings_arguments(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    settings = load_settings()
    spark = get_or_create_session(settings, app_name=f"glue-labeling find-matches {args.transform_id}")
    groups = run_transform(spark, settings, args.transform_id, args.output_path)
    log.info("wrote %s with match_id: %d match groups of two or more records", args.output_path, groups)
    return 0
