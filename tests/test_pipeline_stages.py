"""One test (or a few) per pipeline stage, on tiny hand-made frames:
load -> normalize -> block -> score -> cluster -> sample -> write."""

from __future__ import annotations

import csv
import io
import itertools
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from rapidfuzz.distance import JaroWinkler

from glue_labeling.catalog import LocalCatalog
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import (
    BlockingRule,
    ColumnProfile,
    candidate_pairs,
    default_rules,
    oversized_blocks,
    with_rule_keys,
    without_oversized,
)
from glue_labeling.pipeline.cluster import connected_components
from glue_labeling.pipeline.load import InputDataError, check_primary_key, load_tables, with_record_id
from glue_labeling.pipeline.normalize import normalize_text, with_comparison_columns
from glue_labeling.pipeline.sample import (
    MAX_ROWS_PER_SET,
    SamplingConfig,
    interleave,
    pack_labeling_sets,
    sample_labeling_sets,
)
from glue_labeling.pipeline.score import (
    column_weights,
    similarity_column,
    with_features,
    with_unsupervised_score,
)
from glue_labeling.pipeline.write import (
    PARTITION_COLUMN,
    final_location,
    hadoop_uri,
    labeling_set_rows,
    staging_location,
    write_labeling_set,
)
from glue_labeling.settings import Settings

PAIR_SCHEMA = "id_l long, id_r long, rule int"


def _pairs(frame: DataFrame) -> set[tuple[int, int, int]]:
    return {(r.id_l, r.id_r, r.rule) for r in frame.collect()}


# --------------------------------------------------------------------------------------- load


def test_check_primary_key_names_the_first_duplicated_key(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(0, "k3"), (0, "k2"), (0, "k3"), (0, "k2"), (0, "k2"), (0, "k1")], f"{SOURCE} int, pk string"
    )
    # Both k2 and k3 are duplicated: the message names the first in key order, with its count.
    with pytest.raises(InputDataError, match=r"'pk' is not unique: 'k2' appears 3 times"):
        check_primary_key(records, "pk")


def test_check_primary_key_reports_nulls_first_and_missing_column(spark: SparkSession) -> None:
    records = spark.createDataFrame([(0, None), (0, "a"), (0, None), (0, "b"), (0, "b")], f"{SOURCE} int, pk string")
    with pytest.raises(InputDataError, match=r"'pk' has 2 null value\(s\)"):
        check_primary_key(records, "pk")
    with pytest.raises(InputDataError, match=r"'nope' is not in the input table"):
        check_primary_key(records, "nope")


def test_check_primary_key_is_per_table(spark: SparkSession) -> None:
    # Linkage: the same key may appear once in each table.
    records = spark.createDataFrame([(0, "a"), (1, "a"), (0, "b")], f"{SOURCE} int, pk string")
    check_primary_key(records, "pk")


def test_with_record_id_is_deterministic_and_distinct_per_source_and_key(spark: SparkSession) -> None:
    rows = [(0, "a", "x"), (0, "b", "y"), (1, "a", "z"), (1, "b", "w"), (0, "c", "v")]
    records = spark.createDataFrame(rows, f"{SOURCE} int, pk string, value string")
    first = with_record_id(records, "pk")
    again = with_record_id(records.repartition(3, "value").sortWithinPartitions("value"), "pk")
    assert_df_equality(first, again, ignore_row_order=True)

    ids = {(r[SOURCE], r.pk): r[RECORD_ID] for r in first.collect()}
    assert len(set(ids.values())) == len(rows)  # distinct per (source, key)
    assert ids[(0, "a")] != ids[(1, "a")]  # the same key in two tables is two records
    # The id depends on (source, key) only, not on the other columns.
    changed = spark.createDataFrame([(0, "a", "other")], f"{SOURCE} int, pk string, value string")
    assert with_record_id(changed, "pk").first()[RECORD_ID] == ids[(0, "a")]


def test_load_tables_reads_registered_tables_through_the_session_catalog(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    database = f"db_{uuid.uuid4().hex[:10]}"  # the session catalog outlives a test: stay unique
    left = spark.createDataFrame([(1, "Ann"), (2, "Bo")], "pk long, name string")
    right = spark.createDataFrame([(1, "Anne"), (3, "Cy")], "pk long, name string")
    catalog = LocalCatalog(settings)
    for name, frame in (("people", left), ("customers", right)):
        frame.write.parquet(str(tmp_path / name))
        catalog.register(spark, database, name, str(tmp_path / name), "parquet")

    tables = [
        {"DatabaseName": database, "TableName": "people"},
        {"DatabaseName": database, "TableName": "customers"},
    ]
    loaded = load_tables(spark, tables, catalog)

    assert spark.catalog.tableExists(f"{database}.people")
    assert spark.catalog.tableExists(f"{database}.customers")
    expected = spark.createDataFrame(
        [(1, "Ann", 0), (2, "Bo", 0), (1, "Anne", 1), (3, "Cy", 1)], f"pk long, name string, {SOURCE} int"
    )
    assert_df_equality(loaded, expected, ignore_row_order=True, ignore_nullable=True)

    # A single table (dedup) is tagged 0.
    single = load_tables(spark, tables[:1], catalog)
    assert {r[SOURCE] for r in single.collect()} == {0}


# ---------------------------------------------------------------------------------- normalize


def test_normalize_text_and_comparison_columns_keep_the_originals(spark: SparkSession) -> None:
    rows = [
        ("  José  GARCÍA ", "O'Brien-Smith"),
        ("Ça\t\tva,\n  bien?", "Łódź"),
        ("", "   "),
        ("!!!", None),
        ("Café № 5", "Ñandú"),
    ]
    records = spark.createDataFrame(rows, "name string, city string")
    normalized = with_comparison_columns(records, ["name", "city"])
    expected = spark.createDataFrame(
        [
            ("  José  GARCÍA ", "O'Brien-Smith", "jose garcia", "o brien smith"),
            ("Ça\t\tva,\n  bien?", "Łódź", "ca va bien", "lodz"),
            ("", "   ", None, None),
            ("!!!", None, None, None),
            ("Café № 5", "Ñandú", "cafe 5", "nandu"),
        ],
        "name string, city string, _gl_n0 string, _gl_n1 string",
    )
    assert_df_equality(normalized, expected, ignore_row_order=True, ignore_nullable=True)

    numbers = spark.createDataFrame([(42,), (None,)], "n int").select(normalize_text(F.col("n")).alias("t"))
    assert sorted(numbers.collect(), key=str) == [Row(t="42"), Row(t=None)]


def test_normalize_text_maps_every_listed_accent_to_its_base_letter(spark: SparkSession) -> None:
    words = ["où", "Dvořák ý", "Žižek", "Zürich", "Łukasz Øster"]
    frame = spark.createDataFrame([(w,) for w in words], "w string").select("w", normalize_text(F.col("w")).alias("n"))
    got = {r.w: r.n for r in frame.collect()}
    assert got == {
        "où": "ou",
        "Dvořák ý": "dvořak y",  # ř is not in the table: kept as it is
        "Žižek": "zizek",
        "Zürich": "zurich",
        "Łukasz Øster": "lukasz oster",
    }


# -------------------------------------------------------------------------------------- block


def _profile(index: int, name: str, distinct: int, non_null_ratio: float = 1.0) -> ColumnProfile:
    return ColumnProfile(index, name, distinct, non_null_ratio)


def _columns_of(rule: BlockingRule) -> tuple[int, ...]:
    return tuple(index for index, _length in rule.keys)


def test_default_rules_exact_rules_only_for_distinctive_columns() -> None:
    profiles = [
        _profile(0, "email", 95),
        _profile(1, "city", 3),  # 3% of 100 rows: not distinctive enough for a rule of its own
        _profile(2, "phone", 60, 0.9),
        _profile(3, "notes", 80, 0.1),  # mostly null: unusable
        _profile(4, "country", 1),  # constant: unusable
        _profile(5, "surname", 4),
        _profile(6, "first_name", 2),
    ]
    rules = default_rules(profiles, rows=100, accuracy_cost_tradeoff=0.0)
    single = [rule for rule in rules if len(rule.keys) == 1]
    # Whole-value rules on the distinctive columns only, most informative first.
    assert [(rule.name, rule.keys) for rule in single] == [("exact:email", ((0, 0),)), ("exact:phone", ((2, 0),))]
    assert all(len(rule.keys) == 2 for rule in rules if rule not in single)
    assert any(len(rule.keys) == 2 for rule in rules)
    used = {index for rule in rules for index in _columns_of(rule)}
    assert not used & {3, 4}  # neither the mostly-null nor the constant column
    assert {1, 5} <= used  # the less distinctive columns still take part, in pairs
    assert len({rule.name for rule in rules}) == len(rules)


def test_default_rules_accuracy_cost_tradeoff_widens() -> None:
    # Seven usable columns, none distinctive enough for an exact rule on its own.
    profiles = [_profile(i, f"c{i}", 100 - i * 10) for i in range(7)]
    narrow = default_rules(profiles, rows=100_000, accuracy_cost_tradeoff=0.0)
    wide = default_rules(profiles, rows=100_000, accuracy_cost_tradeoff=1.0)
    assert len(wide) > len(narrow)
    narrow_columns = {_columns_of(rule) for rule in narrow}
    wide_columns = {_columns_of(rule) for rule in wide}
    assert narrow_columns == {(0, 1), (0, 2), (1, 2)}  # pairs of the three most informative columns
    assert narrow_columns < wide_columns  # widening adds rules and drops none


def test_rule_keys_are_null_unless_every_part_is_present(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(1, 0, "jonathan", "smith"), (2, 0, "jo", None)],
        f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string",
    )
    rules = [BlockingRule("exact:a", ((0, 0),)), BlockingRule("prefix3:a+b", ((0, 3), (1, 3)))]
    keyed = with_rule_keys(records, rules)
    expected = spark.createDataFrame(
        [(1, 0, "jonathan", "jon\u001fsmi"), (2, 0, "jo", None)],
        f"{RECORD_ID} long, {SOURCE} int, _gl_k0 string, _gl_k1 string",
    )
    assert_df_equality(keyed, expected, ignore_row_order=True, ignore_nullable=True)


KEYED_SCHEMA = f"{RECORD_ID} long, {SOURCE} int, _gl_k0 string, _gl_k1 string, _gl_k2 string"


def test_candidate_pairs_dedup_each_pair_once_under_its_first_rule(spark: SparkSession) -> None:
    keyed = spark.createDataFrame(
        [
            # ids deliberately out of order so that id_l < id_r is the function's doing
            (30, 0, "a", "x", "p"),
            (5, 0, "a", "x", "q"),
            (17, 0, "a", None, "q"),
            (8, 0, None, "x", "p"),
            (2, 0, "b", "y", "p"),
            (40, 0, None, None, None),
        ],
        KEYED_SCHEMA,
    )
    pairs = candidate_pairs(keyed, rule_count=3, linkage=False).cache()
    expected = spark.createDataFrame(
        [
            (5, 30, 0),
            (5, 17, 0),
            (17, 30, 0),  # rule 0: block "a"; 5-30 also agrees on rules 1 and 2
            (5, 8, 1),
            (8, 30, 1),  # rule 1: block "x" minus what rule 0 found
            (2, 8, 2),
            (2, 30, 2),  # rule 2: block "p" minus 8-30 (rule 1); block "q" only 5-17 (rule 0)
        ],
        PAIR_SCHEMA,
    )
    assert_df_equality(pairs, expected, ignore_row_order=True, ignore_nullable=True)
    found = [(r.id_l, r.id_r) for r in pairs.collect()]
    assert len(found) == len(set(found))  # once each, even when several rules agree
    assert all(left < right for left, right in found)


def test_candidate_pairs_linkage_only_crosses_sources(spark: SparkSession) -> None:
    keyed = spark.createDataFrame(
        [
            (1, 0, "k", "m", None),
            (2, 0, "k", None, None),
            (9, 1, "k", "m", None),
            (4, 1, "k", None, None),
            (3, 1, None, "m", None),
        ],
        KEYED_SCHEMA,
    )
    pairs = candidate_pairs(keyed, rule_count=2, linkage=True)
    expected = spark.createDataFrame(
        [(1, 9, 0), (1, 4, 0), (2, 9, 0), (2, 4, 0), (1, 3, 1)],  # 9-3 share "m" but both are table 1
        PAIR_SCHEMA,
    )
    assert_df_equality(pairs, expected, ignore_row_order=True, ignore_nullable=True)


def test_oversized_blocks_are_reported_and_dropped(spark: SparkSession) -> None:
    giant = [(i, 0, "giant", None, None) for i in range(1, 7)]
    keyed = spark.createDataFrame(
        [*giant, (20, 0, "small", None, None), (21, 0, "small", None, None)],
        KEYED_SCHEMA,
    )
    # Rule 1 pairs two members of the giant block of rule 0.
    keyed = keyed.withColumn("_gl_k1", F.when(F.col(RECORD_ID).isin(1, 2), F.lit("z")))
    rules = [BlockingRule(f"r{i}", ((i, 0),)) for i in range(3)]
    oversized = oversized_blocks(keyed, rules, max_block_size=3)
    assert_df_equality(
        oversized,
        spark.createDataFrame([(0, "giant", 6)], "rule int, key string, size long"),
        ignore_nullable=True,
    )
    giants = [(r.rule, r.key) for r in oversized.collect()]
    pairs = candidate_pairs(without_oversized(keyed, giants), len(rules), linkage=False)
    # The giant block neither emits its 15 pairs nor hides 1-2 from the later rule.
    assert _pairs(pairs) == {(20, 21, 0), (1, 2, 1)}
    # Without the cap, the giant block would have given C(6, 2) pairs.
    assert candidate_pairs(keyed, len(rules), linkage=False).count() == 15 + 1


# -------------------------------------------------------------------------------------- score


def test_with_features_similarities(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            (1, "john smith", "martha", None, None),
            (2, "john smith", "marhta", "x", None),
        ],
        f"{RECORD_ID} long, _gl_n0 string, _gl_n1 string, _gl_n2 string, _gl_n3 string",
    )
    pairs = spark.createDataFrame([(1, 2, 0)], PAIR_SCHEMA)
    row = with_features(pairs, records, column_count=4).first()
    assert (row.id_l, row.id_r, row.rule) == (1, 2, 0)
    assert row[similarity_column(0)] == 1.0
    typo = row[similarity_column(1)]
    assert 0.0 < typo < 1.0
    assert typo == pytest.approx(JaroWinkler.normalized_similarity("martha", "marhta"))
    assert row[similarity_column(2)] is None  # one side null: null, not NaN
    assert row[similarity_column(3)] is None  # both sides null


def test_with_unsupervised_score_weights_present_columns_only(spark: SparkSession) -> None:
    assert column_weights([_profile(0, "a", 1), _profile(1, "b", 8)]) == [1.0, 3.0]
    featured = spark.createDataFrame(
        [
            (1, 2, 0, 1.0, 0.9, None),
            (1, 3, 0, 0.7, 1.0, 1.0),
            (2, 3, 0, None, None, None),
            (3, 4, 0, 1.0, 1.0, 1.0),
        ],
        f"id_l long, id_r long, rule int, {similarity_column(0)} double, "
        f"{similarity_column(1)} double, {similarity_column(2)} double",
    )
    scored = with_unsupervised_score(featured, [1.0, 2.0, 3.0])
    got = {(r.id_l, r.id_r): r.match_score for r in scored.collect()}
    # Similarities count above AGREEMENT_FLOOR (0.8), rescaled: 0.9 -> 0.5, 0.7 -> 0.
    assert got[(1, 2)] == pytest.approx((1.0 * 1 + 0.5 * 2) / (1 + 2))  # column 2 left out
    assert got[(1, 3)] == pytest.approx((0.0 * 1 + 1.0 * 2 + 1.0 * 3) / 6)
    assert got[(2, 3)] == 0.0  # nothing to compare
    assert got[(3, 4)] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------ cluster


def test_connected_components_chain_and_pair(spark: SparkSession) -> None:
    edges = spark.createDataFrame([(3, 4, 0), (1, 2, 0), (10, 11, 0), (2, 3, 0)], PAIR_SCHEMA)
    components, rounds = connected_components(edges, max_iterations=10)
    expected = spark.createDataFrame([(1, 1), (2, 1), (3, 1), (4, 1), (10, 10), (11, 10)], "id long, component long")
    assert_df_equality(components, expected, ignore_row_order=True, ignore_nullable=True)
    assert 1 <= rounds <= 5  # the chain's diameter (3) plus the round that sees no change

    # The round count is capped: one round is not enough for the chain, and says so.
    partial, capped = connected_components(edges, max_iterations=1)
    assert capped == 1
    assert {r.id: r.component for r in partial.collect()}[4] == 3


# ------------------------------------------------------------------------------------- sample


def test_interleave_keeps_shares_in_every_prefix() -> None:
    sources = [list(range(0, 50)), list(range(100, 150)), list(range(200, 250))]
    shares = [0.7, 0.2, 0.1]
    merged = interleave(sources, shares)
    assert sorted(merged) == sorted(itertools.chain(*sources))  # everything, once
    for source in sources:  # each source keeps its own order
        assert [x for x in merged if x in source] == source
    for length in range(1, 51):
        prefix = merged[:length]
        for source, share in zip(sources, shares, strict=True):
            assert abs(sum(x in source for x in prefix) - share * length) <= 1
    # An exhausted source leaves the others to fill in.
    assert interleave([[1], [2, 3, 4]], [0.9, 0.1]) == [1, 2, 3, 4]
    assert interleave([[], []], [0.5, 0.5]) == []


def _random_neighbourhoods(seed: int, anchor_count: int) -> tuple[list[int], dict[int, list[tuple[int, float]]]]:
    rng = random.Random(seed)
    population = list(range(1, 200))
    anchors = rng.sample(population, anchor_count) + rng.sample(population, 5)  # some repeated
    neighbours = {
        a: sorted(
            ((n, rng.random()) for n in rng.sample(population, rng.randint(0, 12)) if n != a),
            key=lambda p: (-p[1], p[0]),
        )
        for a in set(anchors)
    }
    return anchors, neighbours


@pytest.mark.parametrize(
    "config",
    [
        SamplingConfig(sets=4, min_rows=6, max_rows=10),
        SamplingConfig(sets=10, min_rows=10, max_rows=20),
        SamplingConfig(sets=3, min_rows=2, max_rows=3),
        SamplingConfig(sets=5, min_rows=7, max_rows=8),
    ],
    ids=["6-10", "10-20", "2-3", "7-8"],
)
def test_pack_labeling_sets_invariants(config: SamplingConfig) -> None:
    for seed in range(20):
        anchors, neighbours = _random_neighbourhoods(seed, anchor_count=40)
        component_of = {i: i // 3 for i in range(1, 200)}  # records 3k..3k+2 share a component
        excluded = frozenset(range(1, 200, 7))
        sets = pack_labeling_sets(anchors, neighbours, component_of, config, excluded)
        again = pack_labeling_sets(list(anchors), dict(neighbours), dict(component_of), config, excluded)
        assert sets == again
        members = [record for labeling_set in sets for record in labeling_set]
        assert len(members) == len(set(members)), "a record in two places"
        assert not set(members) & excluded
        assert len(sets) <= config.sets
        for labeling_set in sets[:-1]:
            assert config.min_rows <= len(labeling_set) <= config.max_rows
        if sets:
            assert 2 <= len(sets[-1]) <= config.max_rows


def test_pack_labeling_sets_one_anchor_per_component() -> None:
    config = SamplingConfig(sets=10, min_rows=2, max_rows=3, max_group_rows=2)
    neighbours = {1: [(10, 0.9)], 2: [(20, 0.9)], 5: [(50, 0.9), (51, 0.8)], 6: []}
    sets = pack_labeling_sets([1, 5, 2, 6, 1], neighbours, {1: 1, 2: 1, 5: 5}, config)
    assert sets == [[1, 10], [5, 50]]  # 2 shares 1's component; 6 has no neighbour
    assert pack_labeling_sets([1, 5], neighbours, {}, config, excluded=frozenset({10})) == [[5, 50]]
    assert pack_labeling_sets(
        [1, 5, 2], neighbours, {}, SamplingConfig(sets=1, min_rows=2, max_rows=3, max_group_rows=2)
    ) == [[1, 10]]


def test_sampling_config_needs_room_for_a_pair_in_any_unfilled_set() -> None:
    # With min_rows == max_rows a partial set can be left one slot short, where no group fits.
    with pytest.raises(ValueError, match="min_rows < max_rows"):
        SamplingConfig(sets=3, min_rows=10, max_rows=10)


def test_sampling_config_limits() -> None:
    SamplingConfig(min_rows=2, max_rows=MAX_ROWS_PER_SET)
    with pytest.raises(ValueError, match="max_rows"):
        SamplingConfig(max_rows=51)
    with pytest.raises(ValueError):
        SamplingConfig(min_rows=1)
    with pytest.raises(ValueError):
        SamplingConfig(min_rows=12, max_rows=11)


def _components(scored: list[tuple[int, int, int, float]], threshold: float) -> list[tuple[int, int]]:
    """(id, component) over the edges at or above threshold, computed in plain Python."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for left, right, _rule, score in scored:
        if score >= threshold:
            a, b = root(left), root(right)
            parent[max(a, b)] = min(a, b)
    return [(node, root(node)) for node in parent]


def test_sample_labeling_sets_is_deterministic(spark: SparkSession) -> None:
    rng = random.Random(5)
    pairs = sorted({tuple(sorted(rng.sample(range(1, 31), 2))) for _ in range(60)})
    pairs_scores = [(left, right, 0, round(rng.random(), 3)) for left, right in pairs]
    scored = spark.createDataFrame(pairs_scores, "id_l long, id_r long, rule int, match_score double").repartition(2)
    threshold = 0.85
    components = spark.createDataFrame(_components(pairs_scores, threshold), "id long, component long")
    config = SamplingConfig(sets=3, min_rows=4, max_rows=6, seed=3)

    first = sample_labeling_sets(spark, scored, components, threshold, config)
    second = sample_labeling_sets(spark, scored.repartition(3), components, threshold, config)
    assert_df_equality(first, second)  # same rows, same order

    rows = first.collect()
    assert first.columns == ["labeling_set_id", RECORD_ID]
    ids = [r[RECORD_ID] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {i for pair in pairs for i in pair}
    sizes = {s: sum(r.labeling_set_id == s for r in rows) for s in {r.labeling_set_id for r in rows}}
    assert sorted(sizes) == [f"set-00{n}" for n in range(1, len(sizes) + 1)]
    assert 1 <= len(sizes) <= config.sets
    ordered = [sizes[s] for s in sorted(sizes)]
    assert all(config.min_rows <= size <= config.max_rows for size in ordered[:-1])
    assert 2 <= ordered[-1] <= config.max_rows


# -------------------------------------------------------------------------------------- write


DATA_COLUMNS = ["id", "name", "city"]
HEADER = "labeling_set_id,label,id,name,city"


def _records_and_sets(spark: SparkSession, set_count: int = 2) -> tuple[DataFrame, DataFrame]:
    records = spark.createDataFrame(
        [
            (101, 0, 1, "Ann", "Paris", "ann"),
            (102, 0, 2, "Anne", "Paris", "anne"),
            (103, 0, 3, "Bo", "Lyon", "bo"),
            (104, 0, 4, "Bob", "Lyon", "bob"),
            (105, 0, 5, "Cy", "Nice", "cy"),
        ],
        f"{RECORD_ID} long, {SOURCE} int, id int, name string, city string, _gl_n0 string",
    )
    memberships = [("set-001", 101), ("set-001", 102), ("set-002", 103), ("set-002", 104)]
    sets = spark.createDataFrame(
        [m for m in memberships if int(m[0][-1]) <= set_count], "labeling_set_id string, _gl_id long"
    )
    return records, sets


def test_labeling_set_rows_columns_and_empty_label(spark: SparkSession) -> None:
    records, sets = _records_and_sets(spark)
    rows = labeling_set_rows(records, sets, DATA_COLUMNS)
    assert rows.columns == ["labeling_set_id", "label", *DATA_COLUMNS, PARTITION_COLUMN]
    expected = spark.createDataFrame(
        [
            ("set-001", None, 1, "Ann", "Paris", "set-001"),
            ("set-001", None, 2, "Anne", "Paris", "set-001"),
            ("set-002", None, 3, "Bo", "Lyon", "set-002"),
            ("set-002", None, 4, "Bob", "Lyon", "set-002"),
        ],
        f"labeling_set_id string, label string, id int, name string, city string, {PARTITION_COLUMN} string",
    )
    assert_df_equality(rows, expected, ignore_nullable=True, ignore_row_order=True)


def test_locations() -> None:
    assert hadoop_uri("s3://b/p") == "s3a://b/p"
    assert hadoop_uri("/tmp/x") == "/tmp/x"
    assert final_location("s3://b/out/", "tr1") == "s3a://b/out/tr1"
    assert staging_location("s3a://b/out", "tr1") == "s3a://b/out/_staging/tr1"


def _parse(texts: dict[str, str]) -> dict[str, list[list[str]]]:
    """{"labeling_set=<id>/part-….csv": text} -> {"labeling_set=<id>": data rows}, checking that
    every file starts with exactly the expected header."""
    by_set: dict[str, list[list[str]]] = {}
    for name, text in texts.items():
        folder = name.split("/")[0]
        assert text.splitlines()[0] == HEADER, f"header of {name}"
        lines = list(csv.reader(io.StringIO(text)))
        by_set.setdefault(folder, []).extend(lines[1:])
    return by_set


def _check_written(by_set: dict[str, list[list[str]]], set_count: int) -> None:
    assert sorted(by_set) == [f"labeling_set=set-00{n}" for n in range(1, set_count + 1)]
    for folder, lines in by_set.items():
        assert all(line[0] == folder.split("=")[1] and line[1] == "" for line in lines)
    all_rows = [tuple(line) for lines in by_set.values() for line in lines]
    assert len(all_rows) == len(set(all_rows)) == 2 * set_count


def _local_csvs(final: Path) -> dict[str, str]:
    return {
        str(path.relative_to(final)): path.read_text(encoding="utf-8") for path in final.glob("labeling_set=*/*.csv")
    }


def test_write_labeling_set_local(spark: SparkSession, tmp_path: Path) -> None:
    records, sets = _records_and_sets(spark)
    output = tmp_path / "labels"
    rows = labeling_set_rows(records, sets, DATA_COLUMNS)

    final = Path(write_labeling_set(spark, rows, str(output), "tr-1"))
    assert final == output / "tr-1"
    assert (final / "_SUCCESS").exists()
    assert not (output / "_staging" / "tr-1").exists()
    assert sorted(p.name for p in final.iterdir() if p.is_dir()) == [
        "labeling_set=set-001",
        "labeling_set=set-002",
    ]
    _check_written(_parse(_local_csvs(final)), set_count=2)

    # The same task run again replaces its output: same rows, no duplicates.
    write_labeling_set(spark, rows, str(output), "tr-1")
    _check_written(_parse(_local_csvs(final)), set_count=2)
    assert (final / "_SUCCESS").exists()

    # ... and replaces rather than merges: a set that is gone from the new run is gone on disk.
    _, fewer = _records_and_sets(spark, set_count=1)
    write_labeling_set(spark, labeling_set_rows(records, fewer, DATA_COLUMNS), str(output), "tr-1")
    _check_written(_parse(_local_csvs(final)), set_count=1)


def test_write_labeling_set_s3(spark: SparkSession, s3: Any) -> None:
    bucket = f"labels-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    records, sets = _records_and_sets(spark)
    rows = labeling_set_rows(records, sets, DATA_COLUMNS)

    def objects() -> list[str]:  # directory markers (keys ending in "/") left out
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="out/").get("Contents", [])
        return [o["Key"] for o in listed if not o["Key"].endswith("/")]

    def csvs() -> dict[str, str]:
        prefix = "out/tr-9/"
        return {
            key[len(prefix) :]: s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            for key in objects()
            if key.startswith(prefix) and key.endswith(".csv")
        }

    for _ in range(2):  # the second write of the same task run replaces the first
        final = write_labeling_set(spark, rows, f"s3a://{bucket}/out", "tr-9")
        assert final == f"s3a://{bucket}/out/tr-9"
        keys = objects()
        assert "out/tr-9/_SUCCESS" in keys
        assert not [k for k in keys if k.startswith("out/_staging/tr-9/")]
        assert {k.split("/")[2] for k in keys if k.endswith(".csv")} == {
            "labeling_set=set-001",
            "labeling_set=set-002",
        }
        _check_written(_parse(csvs()), set_count=2)
