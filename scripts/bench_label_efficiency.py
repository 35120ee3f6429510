"""Benchmark: how fast do labels make the transform good? The active-learning loop against a
simulated labeler that answers from ground truth.

Each round: generate a labeling set (scored by the classifier once the labels make the
transform READY, never showing a labeled record) -> label every set from the truth (one label
per true entity, as a person would) -> turn the answers into labeled pairs exactly as an import
does (glue_labeling.labels.pairs) -> score and cluster with the new labels -> precision, recall
and F1 of `match_id` over ALL true pairs of the data set. The budget is records shown to the
labeler (a set of n rows shows n).

The match groups after round r come from the pipeline run that generates round r+1's labeling
set: it trains on the same labels and scores the same candidates as FindMatches would, and its
pairs are clustered exactly as glue_labeling.find_matches clusters them (without
EnforceProvidedLabels, so the figures are the model's own). One pipeline run per round instead
of two keeps a FEBRL round within a few minutes on a small machine.

Strategies: `active` (the labeling job's mix: mostly pairs near the threshold) and `random`
(the same packing of candidate groups, anchors chosen at random). Data as in
scripts/bench_labeling_quality.py (`--data febrl3|febrl4|generated`).

Usage: .venv/bin/python scripts/bench_label_efficiency.py --data febrl3 --rounds 4 [--seed 17]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from bench_labeling_quality import KEY, add_data_arguments, benchmark_data
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.catalog import LocalCatalog
from glue_labeling.find_matches import MATCH_ID, with_match_id
from glue_labeling.labels.labeling_file import LabelRow
from glue_labeling.labels.pairs import labeled_pairs
from glue_labeling.labels.store import LABELS_SCHEMA, MIN_PAIRS_PER_CLASS
from glue_labeling.pipeline import SOURCE
from glue_labeling.pipeline.cluster import connected_components
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA, LabelingSetResult, RunReport, generate_labeling_set
from glue_labeling.pipeline.sample import SamplingConfig


def sampling(strategy: str, seed: int, sets: int) -> SamplingConfig:
    """Sets of 10 to 14 rows; `random` takes every anchor by the exploration share."""
    if strategy == "random":
        return SamplingConfig(sets=sets, min_rows=10, max_rows=14, seed=seed, boundary_share=0.0, band_share=0.0)
    return SamplingConfig(sets=sets, min_rows=10, max_rows=14, seed=seed)


def pair_scores(matched: pd.DataFrame, entity: dict[str, str], linkage: bool) -> dict[str, float]:
    """P, R, F1 of the match groups (`match_id`) over all true pairs, from group sizes: a group
    of n records predicts n(n-1)/2 pairs (linkage: left x right records)."""

    def pairs(frame: pd.DataFrame, by: list[str]) -> int:
        sizes = frame.groupby([*by, SOURCE]).size().unstack(fill_value=0)
        if linkage:
            return int((sizes.get(0, 0) * sizes.get(1, 0)).sum())
        n = sizes.sum(axis=1)
        return int((n * (n - 1) // 2).sum())

    frame = matched.assign(entity=matched[KEY].map(entity))
    predicted, true = pairs(frame, [MATCH_ID]), pairs(frame, ["entity"])
    hits = pairs(frame, [MATCH_ID, "entity"])
    precision = hits / predicted if predicted else 0.0
    recall = hits / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def match_groups(result: LabelingSetResult, threshold: float) -> pd.DataFrame:
    components, _rounds = connected_components(result.scored_pairs.where(F.col("match_score") >= threshold))
    return with_match_id(result.records, components).select(KEY, SOURCE, MATCH_ID).toPandas()


def label_sets(location: str, entity: dict[str, str], round_number: int) -> list[LabelRow]:
    """The simulated labeler: every row of every set gets its true entity as its label."""
    rows = []
    for path in sorted(Path(location.removeprefix("file:")).glob("labeling_set=*/*.csv")):
        for line, row in enumerate(csv.DictReader(path.open(encoding="utf-8")), start=2):
            rows.append(LabelRow(f"round-{round_number}.csv", line, row["labeling_set_id"], entity[row[KEY]], row[KEY]))
    return rows


def run_strategy(
    spark: SparkSession,
    strategy: str,
    transform: dict[str, Any],
    catalog: LocalCatalog,
    entity: dict[str, str],
    sources: dict[str, list[int]],
    args: argparse.Namespace,
    work: Path,
) -> None:
    linkage = len(transform["InputRecordTables"]) == 2
    stored = LABELS_SCHEMA.empty_table()
    earlier: list[str] = []
    shown = 0
    for round_number in range(1, args.rounds + 2):
        matches = pc.sum(stored["is_match"]).as_py() or 0
        ready = matches >= MIN_PAIRS_PER_CLASS and stored.num_rows - matches >= MIN_PAIRS_PER_CLASS
        report = RunReport()
        result = generate_labeling_set(
            spark,
            transform,
            f"file://{work / strategy}",
            f"round-{round_number}",
            report,
            catalog,
            sampling(strategy, args.seed, args.sets),
            earlier_labeling_sets=earlier,
            labels=_labels_frame(spark, stored) if ready else None,
        )
        scores = pair_scores(match_groups(result, report.figures["match_threshold"]), entity, linkage)
        row = {
            "strategy": strategy,
            "round": round_number - 1,
            "records_shown": shown,
            "labeled_pairs": stored.num_rows,
            "model": "classifier" if ready else "unsupervised",
            **scores,
            "seconds": round(sum(report.figures["stage_seconds"].values()), 1),
        }
        print(json.dumps(row), flush=True)
        if round_number > args.rounds:
            return
        answers = label_sets(result.location, entity, round_number)
        shown += len(answers)
        pairs, problems = labeled_pairs(answers, sources, f"round-{round_number}", dt.datetime.now(dt.timezone.utc))
        if problems:
            raise RuntimeError(f"the simulated labels do not import: {problems[:3]}")
        stored = pa.concat_tables([stored, pairs])
        earlier.append(result.location)


def _labels_frame(spark: SparkSession, stored: pa.Table) -> DataFrame:
    pairs = stored.select(["left_source", "left_key", "right_source", "right_key", "is_match"])
    return spark.createDataFrame(pairs.to_pandas(), LABELED_PAIRS_SCHEMA)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sets", type=int, default=3, help="labeling sets per round (10 to 14 rows each)")
    parser.add_argument("--strategies", nargs="+", choices=["active", "random"], default=["active", "random"])
    args = parser.parse_args(argv)
    spark, work, tables, entity, catalog, transform = benchmark_data(args, "efficiency")
    sources: dict[str, list[int]] = defaultdict(list)
    for index, table in enumerate(tables):
        for row in table.select(KEY).collect():
            sources[row[KEY]].append(index)
    for strategy in args.strategies:
        run_strategy(spark, strategy, transform, catalog, entity, sources, args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
