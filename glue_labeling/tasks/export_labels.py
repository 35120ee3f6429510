"""EXPORT_LABELS: every stored label, written back as labeling files.

The output has the labeling run's layout and format (<OutputS3Path>/<TaskRunId>/
labeling_set=<id>/part-*.csv, header labeling_set_id,label,<input columns>, staged and moved
into place, then _SUCCESS), so importing <OutputS3Path>/<TaskRunId>/ with ReplaceAllLabels gives
back the same labeled pairs. Which sets are written is decided from the stored pairs
(glue_labeling.labels.pairs.export_sets); the data columns come from the input table as it is
now. A labeled record no longer in the input is written with its key alone, so that a
re-import says which one it is rather than the export dropping its labels.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.labeling_file import LABEL, LABELING_SET_ID
from glue_labeling.labels.pairs import export_sets
from glue_labeling.labels.store import LabelStore
from glue_labeling.pipeline import SOURCE
from glue_labeling.pipeline.load import load_tables
from glue_labeling.pipeline.run import RunReport
from glue_labeling.pipeline.write import PARTITION_COLUMN, write_labeling_set
from glue_labeling.settings import Settings
from glue_labeling.spark import driver_frame

log = logging.getLogger("glue_labeling.export_labels")

_SET, _LABEL, _KEY = "_gl_labeling_set_id", "_gl_label", "_gl_key"


def export_labels_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    pairs = LabelStore(settings, run["transform_id"]).pairs()
    sets = report.stage("plan", lambda: export_sets(pairs), labeled_pairs=lambda _: pairs.num_rows, label_rows=len)
    rows = labeled_rows(spark, transform, sets, LocalCatalog(settings)).cache()
    report.stage(
        "write",
        lambda: write_labeling_set(spark, rows.drop(SOURCE), run["output_s3_path"], run["task_run_id"]),
        output_location=lambda location: location,
        records_not_in_input=lambda _: rows.where(F.col(SOURCE).isNull()).count(),
    )
    return {}


def labeled_rows(
    spark: SparkSession, transform: dict[str, Any], sets: list[dict[str, Any]], catalog: LocalCatalog
) -> DataFrame:
    """The CSV rows: labeling_set_id, label, the input's columns in input order (the key filled
    in from the labels where the record is gone; then the input's SOURCE column is null), and
    the partition column write_labeling_set splits on."""
    key = transform["Parameters"]["FindMatchesParameters"]["PrimaryKeyColumnName"]
    records = load_tables(spark, transform["InputRecordTables"], catalog)
    data_columns = [name for name in records.columns if name != SOURCE]
    labeled = driver_frame(
        spark,
        pd.DataFrame(
            [(row["labeling_set_id"], row["label"], row["source"], row["key"]) for row in sets],
            columns=[_SET, _LABEL, f"{SOURCE}_label", _KEY],
        ),
        f"{_SET} string, {_LABEL} string, {SOURCE}_label int, {_KEY} string",
    )
    joined = labeled.join(
        records,
        (labeled[f"{SOURCE}_label"] == records[SOURCE]) & (labeled[_KEY] == records[f"`{key}`"].cast("string")),
        "left",
    )

    def data_column(name: str) -> Column:
        if name.lower() != key.lower():  # CreateMLTransform matched the key's name case-insensitively
            return F.col(f"`{name}`")
        return F.coalesce(F.col(f"`{name}`").cast("string"), F.col(_KEY)).alias(name)

    return joined.select(
        F.col(_SET).alias(LABELING_SET_ID),
        F.col(_LABEL).alias(LABEL),
        *[data_column(name) for name in data_columns],
        F.col(_SET).alias(PARTITION_COLUMN),
        records[SOURCE],
    )
