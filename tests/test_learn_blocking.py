"""Blocking rules learned from labels, and the probe of pairs blocking misses, on tiny frames."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import BlockingPlan, ExactRule, RuleCost
from glue_labeling.pipeline.learn_blocking import (
    NOISE_MIN_MATCHES,
    RuleEvidence,
    greedy_cover,
    learn_rules,
    noise_rule,
    probe_pairs,
)
from glue_labeling.pipeline.load import with_record_id
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA

COLUMNS = ("name", "city", "phone", "dob")
PHONE = ExactRule("exact:phone", (2,))
NAME = ExactRule("exact:name", (0,))
CITY = ExactRule("exact:city", (1,))
DOB = ExactRule("exact:dob", (3,))


def _cost(pairs: int) -> RuleCost:
    return RuleCost(0, pairs, pairs, 2, 0, 0, 11, 0)


def _records(spark: SparkSession) -> DataFrame:
    """a/b share only a name; c/d a name and a dob; e, f, g a city; h/i a phone; j/k a dob."""
    rows = [
        ("a", "ann", "rome", "111", "1970"),
        ("b", "ann", "paris", "222", "1971"),
        ("c", "cid", "lyon", "333", "1972"),
        ("d", "cid", "nice", "334", "1972"),
        ("e", "eve", "berlin", "555", "1980"),
        ("f", "fay", "berlin", "666", "1981"),
        ("g", "gus", "berlin", "777", "1982"),
        ("h", "hal", "oslo", "888", "1983"),
        ("i", "ida", "bern", "888", "1984"),
        ("j", "jon", "kiel", "901", "1990"),
        ("k", "kim", "bonn", "902", "1990"),
    ]
    frame = spark.createDataFrame(rows, "key string, name string, city string, phone string, dob string")
    normalized = frame.select("key", *[F.col(c).alias(f"_gl_n{i}") for i, c in enumerate(COLUMNS)])
    return with_record_id(normalized.withColumn(SOURCE, F.lit(0)), "key")


def _labels(spark: SparkSession, pairs: list[tuple[str, str, bool]]) -> DataFrame:
    return spark.createDataFrame([(0, a, 0, b, match) for a, b, match in pairs], LABELED_PAIRS_SCHEMA)


# Costs chosen against the budget of 11 records: 2 x 4 pairs per record x 11 = 88 pairs in all.
PLAN = BlockingPlan(
    [PHONE],
    [(PHONE, _cost(1), True), (NAME, _cost(10), False), (CITY, _cost(5), False), (DOB, _cost(4), False)],
    [],
)
LABELS = [("a", "b", True), ("c", "d", True), ("h", "i", True), ("e", "f", False), ("e", "g", False)]


def _learned(spark: SparkSession, labels: list[tuple[str, str, bool]]) -> list[tuple[str, int]]:
    learning = learn_rules(_records(spark), PLAN, _labels(spark, labels), 11, 0.5, 100)
    return [(evidence.rule.name, new) for evidence, new in learning.learned]


def test_a_match_only_an_unkept_rule_pairs_gets_it_added_cheapest_first(spark: SparkSession) -> None:
    learning = learn_rules(_records(spark), PLAN, _labels(spark, LABELS), 11, 0.5, 100)
    # c/d: dob (1 new match per 4 pairs) beats name (2 per 10); then a/b only name covers.
    # The city rule pairs only the non-matches e/f and e/g: never added.
    assert [(e.rule.name, new) for e, new in learning.learned] == [("exact:dob", 1), ("exact:name", 1)]
    assert learning.plan.rules == [PHONE, DOB, NAME]
    assert (learning.labeled_matches, learning.covered_by_default, learning.uncovered) == (3, 1, 0)
    assert learning.report()["learned"][1] == {
        "rule": "exact:name",
        "labeled_matches_newly_covered": 1,
        "labeled_matches_paired": 2,
        "labeled_non_matches_paired": 0,
        "pairs": 10,
    }
    assert learning.dropped == []


def test_labeled_non_matches_a_rule_pairs_count_against_it(spark: SparkSession) -> None:
    # j/k share a dob and are not a match: dob's cost is inflated by 1 + 1/2 to 6 pairs, so the
    # name rule (2 matches per 10 pairs) now comes first and leaves dob nothing to cover.
    assert _learned(spark, [*LABELS, ("j", "k", False)]) == [("exact:name", 2)]


def test_nothing_is_learned_beyond_the_budget(spark: SparkSession) -> None:
    expensive = BlockingPlan([PHONE], [(PHONE, _cost(1), True), (NAME, _cost(1000), False)], [])
    learning = learn_rules(_records(spark), expensive, _labels(spark, LABELS), 11, 0.5, 100)
    assert learning.learned == [] and learning.plan.rules == [PHONE]
    assert learning.uncovered == 2  # a/b and c/d


def test_a_labeled_match_in_an_oversized_block_is_not_paired(spark: SparkSession) -> None:
    # With a cap of 1 record per block, the name and dob blocks that pair a/b and c/d are dropped.
    learning = learn_rules(_records(spark), PLAN, _labels(spark, LABELS), 11, 0.5, 1)
    assert learning.learned == [] and learning.covered_by_default == 0


def _evidence(name: str, pairs: int, matches: set[tuple[int, int]], non_matches: int = 0) -> RuleEvidence:
    return RuleEvidence(ExactRule(name, (0,)), _cost(pairs), frozenset(matches), non_matches)


def test_greedy_cover_takes_matches_per_weighted_cost_and_skips_what_is_covered() -> None:
    wide = _evidence("wide", 100, {(1, 2), (3, 4), (5, 6), (7, 8)})
    narrow = _evidence("narrow", 10, {(1, 2)})
    noisy = _evidence("noisy", 10, {(3, 4)}, non_matches=3)
    # narrow: 1/10; noisy: 1/(10 x 1.75); wide: 4/100 first round, then 3/100 after narrow.
    assert greedy_cover([wide, narrow, noisy], frozenset(), budget=1000) == [(narrow, 1), (noisy, 1), (wide, 2)]
    assert greedy_cover([wide, narrow, noisy], frozenset({(1, 2)}), budget=1000) == [(noisy, 1), (wide, 2)]
    # 10 + 10 spent: wide (100) no longer fits.
    assert greedy_cover([wide, narrow, noisy], frozenset(), budget=110) == [(narrow, 1), (noisy, 1)]


def test_only_the_costliest_pure_noise_default_rule_is_dropped() -> None:
    useful = _evidence("useful", 50, {(1, 2)}, non_matches=9)
    noise_cheap = _evidence("noise-cheap", 5, set(), non_matches=6)
    noise_costly = _evidence("noise-costly", 40, set(), non_matches=5)
    few = _evidence("few", 80, set(), non_matches=4)
    rules = [useful, noise_cheap, noise_costly, few]
    assert noise_rule(rules, NOISE_MIN_MATCHES) == noise_costly
    # Too few labeled matches for "pairs no labeled match" to say anything.
    assert noise_rule(rules, NOISE_MIN_MATCHES - 1) is None


def test_a_pure_noise_default_rule_leaves_the_plan(spark: SparkSession) -> None:
    # 10 matches m<i>a/m<i>b share a phone; 4 records share the city berlin, none matching.
    rows = [(f"m{i}{side}", f"n{i}{side}", f"c{i}{side}", f"t{i}", "2000") for i in range(10) for side in "ab"]
    rows += [(f"b{i}", f"n{i}", "berlin", f"u{i}", "2001") for i in range(4)]
    frame = spark.createDataFrame(rows, "key string, _gl_n0 string, _gl_n1 string, _gl_n2 string, _gl_n3 string")
    records = with_record_id(frame.withColumn(SOURCE, F.lit(0)), "key")
    matches = [(f"m{i}a", f"m{i}b", True) for i in range(NOISE_MIN_MATCHES)]
    berlin = [(f"b{i}", f"b{j}", False) for i in range(4) for j in range(i + 1, 4)]
    plan = BlockingPlan([PHONE, CITY], [(PHONE, _cost(10), True), (CITY, _cost(6), True)], [])
    learning = learn_rules(records, plan, _labels(spark, matches + berlin), 24, 0.5, 100)
    assert learning.dropped == [RuleEvidence(CITY, _cost(6), frozenset(), 6)]
    assert learning.plan.rules == [PHONE]
    assert learning.report()["dropped"][0]["labeled_non_matches_paired"] == 6
    # One labeled match fewer, and "it pairs no labeled match" says too little: the rule stays.
    fewer = learn_rules(records, plan, _labels(spark, matches[1:] + berlin), 24, 0.5, 100)
    assert fewer.dropped == [] and fewer.plan.rules == [PHONE, CITY]


def test_probe_pairs_are_the_unused_rules_pairs_not_already_candidates(spark: SparkSession) -> None:
    records = _records(spark)
    ids = {row.key: row[RECORD_ID] for row in records.collect()}

    def pair(a: str, b: str) -> tuple[int, int]:
        return min(ids[a], ids[b]), max(ids[a], ids[b])

    candidates = spark.createDataFrame([pair("h", "i"), pair("e", "f")], "id_l long, id_r long")
    plan = BlockingPlan([PHONE], [(PHONE, _cost(1), True), (CITY, _cost(3), False), (DOB, _cost(2), False)], [])
    # A budget of 11 pairs covers the 5 the unused rules find: every record is sampled.
    got = probe_pairs(records, plan, candidates, rows=11, linkage=False, seed=1, max_block_size=100)
    expected = spark.createDataFrame(
        [(*p, -1) for p in sorted([pair("e", "g"), pair("f", "g"), pair("c", "d"), pair("j", "k")])],
        "id_l long, id_r long, rule int",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    # A budget of 1 pair in all: about 1 record in 10 sampled, and only the pairs they are in.
    thin = probe_pairs(records, plan, candidates, rows=1, linkage=False, seed=1, max_block_size=100)
    assert thin.count() < 4 and thin.subtract(got).count() == 0


def test_linkage_probe_pairs_cross_the_two_tables(spark: SparkSession) -> None:
    rows = [("a", 0, "berlin"), ("d", 0, "berlin"), ("b", 1, "berlin"), ("c", 1, "berlin"), ("e", 1, "oslo")]
    frame = spark.createDataFrame(rows, f"key string, {SOURCE} int, _gl_n1 string")
    records = with_record_id(frame, "key").withColumn("_gl_n0", F.col("key"))
    ids = {row.key: row[RECORD_ID] for row in records.collect()}
    candidates = spark.createDataFrame([(ids["a"], ids["b"])], "id_l long, id_r long")
    plan = BlockingPlan([NAME], [(NAME, _cost(0), True), (CITY, _cost(4), False)], [])
    got = probe_pairs(records, plan, candidates, rows=5, linkage=True, seed=1, max_block_size=100)
    expected = spark.createDataFrame(
        [(ids["a"], ids["c"], -1), (ids["d"], ids["b"], -1), (ids["d"], ids["c"], -1)], "id_l long, id_r long, rule int"
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
