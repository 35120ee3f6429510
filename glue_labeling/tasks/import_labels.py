"""IMPORT_LABELS: read labeling files, check all of them against the transform's input, then
store their labeled pairs in one commit, or nothing.

The files are read whole (Spark's binaryFile source) and parsed with Python's csv module on the
executors: Spark's CSV reader cannot say on which line of which file a row stands, and the
ErrorString must. Labeling files are small (AWS caps one at 10 MB), so the parsed rows go to the
driver, where the checks that span rows (sets, pairs answered twice) run and the labels are
committed with delta-rs. Only the key lookup reads the input table, through Spark's catalog as
the labeling job does.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.labels.labeling_file import LabelRow, Problem, describe_problems, parse_labeling_file
from glue_labeling.labels.pairs import labeled_pairs
from glue_labeling.labels.store import LabelStore
from glue_labeling.ledger import utc_now
from glue_labeling.pipeline import SOURCE
from glue_labeling.pipeline.load import InputDataError, load_tables
from glue_labeling.pipeline.run import RunReport
from glue_labeling.pipeline.write import hadoop_uri
from glue_labeling.settings import Settings
from glue_labeling.spark import driver_frame

log = logging.getLogger("glue_labeling.import_labels")


@dataclasses.dataclass(frozen=True)
class LabelingFiles:
    files: int
    rows: list[LabelRow]
    problems: list[Problem]


def import_labels_task(
    spark: SparkSession, settings: Settings, run: dict[str, Any], transform: dict[str, Any], report: RunReport
) -> dict[str, Any]:
    input_uri = run["input_s3_path"]
    key = transform["Parameters"]["FindMatchesParameters"]["PrimaryKeyColumnName"]
    columns = [column["Name"] for column in transform["Schema"]]
    read = report.stage(
        "read",
        lambda: read_labeling_files(spark, input_uri, key, columns),
        label_files=lambda found: found.files,
        label_rows=lambda found: len(found.rows),
    )
    if read.files == 0:
        raise InputDataError(f"no .csv file at {input_uri}")
    # Files that are not well-formed are reported alone: the checks against the input and
    # across rows would only echo their problems (a set "of one row" whose other row lacks a label).
    if read.problems:
        raise InputDataError(describe_problems(read.problems))
    if not read.rows:
        raise InputDataError(f"the .csv files at {input_uri} hold no labeled rows")
    sources = report.stage(
        "resolve",
        lambda: key_sources(spark, transform, {row.key for row in read.rows}, LocalCatalog(settings)),
        keys_found=len,
    )
    pairs, problems = labeled_pairs(read.rows, sources, run["task_run_id"], utc_now())
    if problems:
        raise InputDataError(describe_problems(problems))
    store = LabelStore(settings, run["transform_id"])
    replace = bool(run["replace_all_labels"])
    report.stage(
        "store",
        lambda: store.replace_all(pairs) if replace else store.add(pairs),
        labeled_pairs=lambda _: pairs.num_rows,
        replaced_all_labels=lambda _: replace,
    )
    stored = store.summary()
    report.figures.update(stored_pairs=stored.pairs, stored_matching_pairs=stored.matches)
    log.info("imported %d labeled pairs; the transform now has %d", pairs.num_rows, stored.pairs)
    return {"records_read": len(read.rows)}


def read_labeling_files(spark: SparkSession, input_uri: str, key: str, columns: list[str]) -> LabelingFiles:
    """Every .csv file at `input_uri` (a file, or a prefix read recursively; names starting
    with _ or ., such as a run's _staging/, are skipped as Spark skips them), parsed."""
    try:
        files = (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .option("pathGlobFilter", "*.csv")
            .load(hadoop_uri(input_uri))
        )
    except AnalysisException as error:
        # getCondition is Spark 4's name for what Spark 3.5 calls getErrorClass.
        condition = error.getCondition() if hasattr(error, "getCondition") else error.getErrorClass()
        if condition == "PATH_NOT_FOUND":
            raise InputDataError(f"no file or prefix at {input_uri}") from None
        raise
    parsed = (
        files.select("path", "content")
        .rdd.map(lambda file: parse_labeling_file(_as_given(file.path, input_uri), bytes(file.content), key, columns))
        .collect()
    )
    return LabelingFiles(
        len(parsed), [row for rows, _ in parsed for row in rows], [problem for _, found in parsed for problem in found]
    )


def _as_given(path: str, input_uri: str) -> str:
    """A file's path in the scheme the user wrote (Spark says s3a:// and file:/)."""
    if input_uri.startswith("s3://") and path.startswith("s3a://"):
        return "s3://" + path[len("s3a://") :]
    if path.startswith("file:/") and not path.startswith("file:///"):
        return "file:///" + path[len("file:/") :]
    return path


def key_sources(
    spark: SparkSession, transform: dict[str, Any], keys: set[str], catalog: LocalCatalog
) -> dict[str, list[int]]:
    """For each of `keys` found in the transform's input: the index of the table of each record
    holding it (so a key twice in one table shows twice). Keys compare as text: the file's text
    against the input's value cast to a string. One scan of the input, joined with the keys
    broadcast; no shuffle, and no check of keys no label names."""
    if not keys:
        return {}
    key = transform["Parameters"]["FindMatchesParameters"]["PrimaryKeyColumnName"]
    records = load_tables(spark, transform["InputRecordTables"], catalog)
    # CreateMLTransform matched the key's name case-insensitively, as Spark resolves it.
    if key.lower() not in {name.lower() for name in records.columns}:
        raise InputDataError(f"primary key column '{key}' is not in the input table")
    wanted = driver_frame(spark, pd.DataFrame({"key": sorted(keys)}, dtype=object), "key string")
    found = records.select(F.col(f"`{key}`").cast("string").alias("key"), SOURCE).join(F.broadcast(wanted), "key")
    sources: dict[str, list[int]] = {}
    for row in found.collect():
        sources.setdefault(row["key"], []).append(row[SOURCE])
    return sources
