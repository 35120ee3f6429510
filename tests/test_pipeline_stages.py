"""One test (or a few) per pipeline stage, on tiny hand-made frames:
load -> normalize -> block -> score -> cluster -> sample -> write."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import itertools
import math
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from py4j.java_gateway import JavaObject
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from rapidfuzz.distance import JaroWinkler, Levenshtein

from glue_labeling.catalog import LocalCatalog
from glue_labeling.pipeline import RECORD_ID, SOURCE, block, compare, jvm
from glue_labeling.pipeline.block import (
    BlockingPlan,
    ColumnProfile,
    ExactRule,
    MinHashBandRule,
    RuleCost,
    block_sizes,
    column_pair_rules,
    distinct_counts,
    minhash_band_rules,
    minhash_band_width,
    oversized_blocks,
    oversized_keys,
    plan_blocking,
    profile_columns,
    rule_costs,
    single_column_rules,
    with_rule_keys,
)
from glue_labeling.pipeline.cluster import LOCAL_EDGES_MAX, connected_components, linked_components
from glue_labeling.pipeline.compare import compared_candidates
from glue_labeling.pipeline.fellegi_sunter import (
    CLOSE,
    SIMILAR,
    ComparisonVectors,
    FellegiSunterModel,
    comparison_vectors,
    fit_m_and_priors,
    level_column,
    pair_levels,
    random_pairs,
    score_unsupervised,
    term_frequencies,
    term_frequency_columns,
    u_probabilities,
    with_levels,
)
from glue_labeling.pipeline.jvm import first_partitions, jvm_call, partition_count, register_jvm_functions
from glue_labeling.pipeline.literals import column_in
from glue_labeling.pipeline.load import (
    InputDataError,
    check_primary_key,
    identified_records,
    load_tables,
    with_record_id,
)
from glue_labeling.pipeline.minhash import BAND_KEYS, with_band_keys
from glue_labeling.pipeline.normalize import ACCENTED, PLAIN, normalize_text, with_comparison_columns
from glue_labeling.pipeline.sample import (
    MAX_ROWS_PER_SET,
    SamplingConfig,
    interleave,
    pack_labeling_sets,
    sample_labeling_sets,
    score_extremes,
)
from glue_labeling.pipeline.score import (
    PairFeatures,
    distance_column,
    jaccard_column,
    jaro_winkler,
    levenshtein,
    levenshtein_column,
    similarity_column,
    token_jaccard,
    with_both_records,
    with_features,
)
from glue_labeling.pipeline.write import (
    PARTITION_COLUMN,
    final_location,
    hadoop_uri,
    labeling_set_rows,
    shown_keys,
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


def test_identified_records_are_cached_with_their_ids_once_the_key_is_checked(spark: SparkSession) -> None:
    records = spark.createDataFrame([(0, "a"), (0, "b")], f"{SOURCE} int, pk string")
    identified = identified_records(records, "pk")
    assert identified.is_cached
    assert_df_equality(identified, with_record_id(records, "pk"), ignore_row_order=True)
    duplicated = spark.createDataFrame([(0, "a"), (0, "a")], f"{SOURCE} int, pk string")
    with pytest.raises(InputDataError, match=r"'pk' is not unique: 'a' appears 2 times"):
        identified_records(duplicated, "pk")
    with pytest.raises(InputDataError, match=r"'nope' is not in the input table"):
        identified_records(records, "nope")


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


def test_comparison_columns_add_numbers_for_number_and_date_columns(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [("a", 3, dt.date(1970, 1, 11), dt.datetime(1970, 1, 2, 12, 0))],
        "name string, age int, born date, seen timestamp",
    )
    row = with_comparison_columns(records, ["name", "age", "born", "seen"]).first()
    assert "_gl_x0" not in row.asDict()  # text: no number
    assert (row["_gl_n1"], row["_gl_x1"]) == ("3", 3.0)
    assert (row["_gl_n2"], row["_gl_x2"]) == ("1970 01 11", 10.0)  # days since 1970-01-01
    assert row["_gl_x3"] == pytest.approx(1.5)


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


def test_normalize_text_equals_its_spark_expression_definition(spark: SparkSession) -> None:
    def definition(column: Column) -> Column:
        """What gl_normalize replaced, kept as its specification."""
        lowered = F.translate(F.lower(column.cast("string")), ACCENTED, PLAIN)
        cleaned = F.trim(F.regexp_replace(lowered, r"[^\p{L}\p{N}]+", " "))
        return F.when(cleaned == "", None).otherwise(cleaned)

    texts = [
        *["", "   ", "!!!", "...---...", "\t\n", "_", "a_b__c", "x--y  z", "  leading", "trailing!? ", "\u0000x\u0000"],
        *["(555) 123-4567", "john.smith@example.com", "1980-01-02", "ÀÉÎÕÜ Ÿÿ", "Ça\t\tva,\n  bien?", "mañana!!"],
        *["Straße ß", "İstanbul", "ΟΔΟΣ ΣΑΣ Σ", "ǅemal Ǆ", "ﬁne", "Ⓐ circled", "e\u0301te\u0301", "Ⅻ ½ ²³"],
        *["\uff21\uff22\uff23\uff11\uff12\uff13", "中文\uff0c标点\u3002"],  # full-width letters, digits, commas
        *["\U00010400bc \U0001d400x \U0001d7d8"],  # beyond U+FFFF: Deseret, mathematical A and 0
        *["٠١٢٣ ४५६ ๓", "日本語テキスト", "한국어", "emoji 😀 here", "Dvořák Łódź Øster", "ÅSA-ÖBERG", "Ǹ ǹ ḿ"],
        *["tab\tand\u00a0nbsp", "\u2003em\u3000ideographic\u2028"],
        *[ACCENTED, ACCENTED.upper()],  # NormalizeText.java holds its own copy of the table
    ]
    frame = spark.createDataFrame([(t,) for t in [*texts, None]], "t string")
    rows = frame.select("t", definition(F.col("t")).alias("expected"), normalize_text(F.col("t")).alias("got"))
    assert [(row.t, row.got) for row in rows.collect() if row.got != row.expected] == []


# -------------------------------------------------------------------------------------- block


def _profile(
    index: int, name: str, distinct: int, non_null_ratio: float = 1.0, multi_word_ratio: float = 0.0
) -> ColumnProfile:
    return ColumnProfile(index, name, distinct, non_null_ratio, multi_word_ratio, None)


def test_profile_columns(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [("ann lee", "x", 1.0), ("bo", None, 3.0), ("ann lee", None, 1.0), ("cy doe", None, 3.0)],
        "_gl_n0 string, _gl_n1 string, _gl_x1 double",
    )
    assert profile_columns(records, ["name", "code"]) == [
        ColumnProfile(0, "name", distinct=3, non_null_ratio=1.0, multi_word_ratio=0.75, numeric_scale=None),
        ColumnProfile(
            1, "code", distinct=1, non_null_ratio=0.25, multi_word_ratio=0.0, numeric_scale=pytest.approx(2 / 3**0.5)
        ),
    ]


@pytest.mark.parametrize("result_bytes", [jvm.TASK_RESULTS_BYTES, 1])
def test_distinct_counts_are_exact_for_a_few_values_and_within_two_percent_for_many(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, result_bytes: int
) -> None:
    # 60,000 rows in four partitions: a value recurs in every partition, so merging matters;
    # with room for one task's registers only, one task reads them all.
    monkeypatch.setattr(jvm, "TASK_RESULTS_BYTES", result_bytes)
    records = spark.range(0, 60_000, 1, 4).select(
        (F.col("id") % 25_000).cast("string").alias("_gl_n0"),
        F.when(F.col("id") % 3 > 0, (F.col("id") % 7).cast("string")).alias("_gl_n1"),  # nulls are no value
    )
    many, few = distinct_counts(records, 2)
    assert few == 7
    assert abs(many - 25_000) <= 0.02 * 25_000


def test_single_column_rules_skip_mostly_null_and_constant_columns() -> None:
    profiles = [
        _profile(0, "city", 3),
        _profile(1, "email", 95),
        _profile(2, "notes", 80, 0.1),  # mostly null: unusable
        _profile(3, "country", 1),  # constant: unusable
    ]
    assert single_column_rules(profiles) == [ExactRule("exact:email", (1,)), ExactRule("exact:city", (0,))]


def test_column_pair_rules_pair_the_most_informative_columns_not_blocked_alone() -> None:
    profiles = [_profile(i, f"c{i}", 100 - i * 10) for i in range(7)]
    narrow = column_pair_rules(profiles, excluded={0}, accuracy_cost_tradeoff=0.0)
    assert [rule.columns for rule in narrow] == [(1, 2), (1, 3), (2, 3)]  # the next three columns
    wide = column_pair_rules(profiles, excluded={0}, accuracy_cost_tradeoff=1.0)
    assert {rule.columns for rule in narrow} < {rule.columns for rule in wide}  # widening adds, drops none
    assert len(wide) == 10  # five columns, every pair once


def test_rule_keys_are_hashes_of_the_values_and_null_unless_every_part_is_present(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(1, 0, "jonathan", "smith"), (2, 0, "jo", None), (3, 0, "jonathan", "smith"), (4, 0, "jonathans", "mith")],
        f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string",
    )
    rules = [ExactRule("exact:a", (0,)), ExactRule("exact:a+b", (0, 1))]
    keys = {row[RECORD_ID]: (row._gl_k0, row._gl_k1) for row in with_rule_keys(records, rules).collect()}
    assert keys[1] == keys[3] and None not in keys[1]  # equal values, equal keys
    assert keys[2][1] is None  # a rule on two columns needs both
    assert keys[4][1] != keys[1][1]  # "jonathans"+"mith" is not "jonathan"+"smith"
    readable = records.select(rules[1].readable_key()).first()[0]
    assert readable == "jonathan\u001fsmith"


def _band_keys(
    spark: SparkSession, records: list[tuple[str | None, ...]], bands: int, width: int = 4, partitions: int = 1
) -> list[list[int] | None]:
    """with_band_keys over records of normalized texts (one per column), in order."""
    columns = len(records[0])
    schema = f"{RECORD_ID} long, " + ", ".join(f"_gl_n{i} string" for i in range(columns))
    rows = spark.sparkContext.parallelize([(i, *texts) for i, texts in enumerate(records)], partitions)
    signed = with_band_keys(spark.createDataFrame(rows, schema), list(range(columns)), bands, width)
    return [row[BAND_KEYS] for row in sorted(signed.collect(), key=lambda row: row[RECORD_ID])]


def test_band_keys_hash_the_set_of_column_tagged_3_grams_and_nothing_for_no_text(spark: SparkSession) -> None:
    keys = _band_keys(
        spark,
        [
            ("abcabc", None),  # grams abc, bca, cab
            ("abcabcabc", ""),  # the same set: grams are a set, null and empty have none
            ("abc", None),
            (None, "abc"),  # the column tag keeps "abc" in two columns apart
            ("", "abc"),  # an empty text keeps the next column at its position
            ("ab", None),  # shorter than a gram: one gram
            ("ab", "ab"),
            (None, None),
            ("", ""),
        ],
        bands=6,
    )
    assert keys[0] == keys[1] and len(keys[0]) == 6
    assert keys[3] == keys[4] != keys[2]
    assert keys[5] is not None and keys[5] != keys[6]
    assert keys[7] is None and keys[8] is None  # null, not an array of sentinels
    assert len({tuple(k) for k in keys[:7]}) == 5


def test_band_keys_of_a_one_gram_text_fill_every_band_by_densification(spark: SparkSession) -> None:
    # One gram fills one of 24 bins; the others borrow it at distinct offsets, so every band
    # is a full band of distinct values, and keys are the same from record to record.
    keys = _band_keys(spark, [("ab",), ("xy",), ("ab",)], bands=6)
    assert len(set(keys[0])) == 6
    assert keys[0] == keys[2]
    assert not set(keys[0]) & set(keys[1])


def test_band_keys_are_deterministic_and_depend_on_the_band_width(spark: SparkSession) -> None:
    rng = random.Random(7)
    records = [("".join(rng.choice("abcdefgh ") for _ in range(rng.randint(0, 30))),) for _ in range(200)]
    keys = _band_keys(spark, records, bands=6)
    # Other partitions (other tasks, each with its own instance of the function), the same keys.
    assert keys == _band_keys(spark, records, bands=6, partitions=3)
    wide = _band_keys(spark, records, bands=6, width=8)
    assert all(
        (narrow is None) == (other is None) and (narrow is None or not set(narrow) & set(other))
        for narrow, other in zip(keys, wide, strict=True)
    )


def test_records_share_a_band_about_as_often_as_lsh_predicts_from_their_jaccard(spark: SparkSession) -> None:
    rng = random.Random(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz "
    bands, width = 2, 4

    def grams(text: str) -> set[str]:
        return {text[i : i + 3] for i in range(len(text) - 2)}

    pairs = []
    for typos in (1, 2, 4):  # 3-gram Jaccard about 0.9, 0.8, 0.65 on 60 characters
        for _ in range(1000):
            text = "".join(rng.choice(alphabet) for _ in range(60))
            typo = list(text)
            for position in rng.sample(range(60), typos):
                typo[position] = "#"
            pairs.append((text, "".join(typo)))
    pairs += [(pairs[i][0], pairs[i + 1][0]) for i in range(0, 1000, 2)]  # unrelated: Jaccard about 0
    keys = _band_keys(spark, [(text,) for pair in pairs for text in pair], bands, width)
    shared = [any(a == b for a, b in zip(keys[2 * i], keys[2 * i + 1], strict=True)) for i in range(len(pairs))]
    jaccard = [len(grams(a) & grams(b)) / len(grams(a) | grams(b)) for a, b in pairs]
    for start, end in ((0, 1000), (1000, 2000), (2000, 3000), (3000, 3500)):
        predicted = sum(1 - (1 - j**width) ** bands for j in jaccard[start:end]) / (end - start)
        assert sum(shared[start:end]) / (end - start) == pytest.approx(predicted, abs=0.04), (start, predicted)


def test_bands_widen_four_values_per_tenfold_growth_past_100k_records() -> None:
    assert [minhash_band_width(rows) for rows in (1_000, 100_000, 1_000_000, 10_000_000)] == [4, 4, 8, 12]


def test_minhash_bands_join_typos_but_not_unrelated_records(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            (1, 0, "catherine", "wellington street"),
            (2, 0, "katherine", "wellington street"),  # one typo: most bands agree
            (3, 0, "catherine", "wellington street"),  # identical text: every band agrees
            (4, 0, "bob", "x"),  # unrelated
            (5, 0, None, None),  # nothing to hash
        ],
        f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string",
    )
    bands = minhash_band_rules(8)
    signed = with_band_keys(records, [0, 1], bands=8)
    band_rows = {row[RECORD_ID]: row[BAND_KEYS] for row in signed.collect()}
    assert band_rows[5] is None
    assert band_rows[1] == band_rows[3] and len(band_rows[1]) == 8
    keys = {row[RECORD_ID]: row for row in with_rule_keys(signed, bands).collect()}

    def shared_bands(a: int, b: int) -> int:
        return sum(keys[a][f"_gl_k{i}"] == keys[b][f"_gl_k{i}"] for i in range(len(bands)))

    assert shared_bands(1, 3) == len(bands)
    assert shared_bands(1, 2) >= 2  # Jaccard ~0.85 over 3-grams: P(band agrees) = 0.85**4 ~ 0.5
    assert shared_bands(1, 4) == 0
    assert all(keys[5][f"_gl_k{i}"] is None for i in range(len(bands)))
    # The same column text in another column gives other grams: column tags keep them apart.
    swapped = spark.createDataFrame([(1, 0, "wellington street", "catherine")], records.schema)
    assert with_band_keys(swapped, [0, 1], bands=8).first()[BAND_KEYS] != band_rows[1]


def test_rule_costs_count_pairs_exactly_with_and_without_the_cap(spark: SparkSession) -> None:
    keyed = spark.createDataFrame(
        [(1, 0, "a", "p"), (2, 0, "a", "p"), (3, 0, "a", None), (4, 0, "b", "p"), (5, 1, "a", "q"), (6, 1, "b", "q")],
        f"{RECORD_ID} long, {SOURCE} int, _gl_k0 string, _gl_k1 string",
    )
    sizes = block_sizes(keyed, 2).cache()
    dedup_sizes = block_sizes(keyed.where(F.col(SOURCE) == 0), 2).cache()
    dedup = rule_costs(dedup_sizes, 2, linkage=False, max_block_size=2)
    # rule 0: block a = {1,2,3} (3 pairs, over the cap of 2), block b = {4}; rule 1: block p = {1,2,4}
    got = [
        (c.pairs, c.pairs_capped, c.largest_block, c.oversized_blocks, c.records_in_oversized, c.keyed_left)
        for c in dedup
    ]
    assert got == [(3, 0, 3, 1, 3, 4), (3, 0, 3, 1, 3, 3)]
    assert not dedup[0].within(budget=100)  # 3 of its 4 records are in the oversized block
    assert RuleCost(0, 9, 3, 5, 1, 5, 12, 0).within(budget=3)
    assert not RuleCost(0, 9, 3, 5, 1, 5, 12, 0).within(budget=2)
    linkage = rule_costs(sizes, 2, linkage=True, max_block_size=10)
    # rule 0: a has 3 x 1, b has 1 x 1 cross pairs; rule 1: no key on both sides
    assert [(c.pairs, c.keyed_left, c.keyed_right) for c in linkage] == [(4, 4, 2), (0, 3, 2)]
    assert linkage[0].agreement_share(linkage=True) == pytest.approx(4 / 8)
    assert dedup[1].agreement_share(linkage=False) == pytest.approx(3 / 3)
    assert oversized_keys(dedup_sizes, [0], max_block_size=2) == [(0, "a")]


def test_plan_blocking_keeps_rules_within_the_pair_budget(spark: SparkSession) -> None:
    # 40 records: a near-unique phone, a city shared by everyone, and a name/dob pair that
    # identifies records only together.
    rows = [(i, 0, f"555{i:04d}", "springfield", f"name{i % 5}", f"19{i % 4:02d}") for i in range(40)]
    rows[1] = (1, 0, "5550000", "springfield", "name1", "1901")  # a duplicate of record 0's phone
    records = spark.createDataFrame(
        rows, f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string, _gl_n3 string"
    )
    profiles = [_profile(0, "phone", 39), _profile(1, "city", 1), _profile(2, "name", 5), _profile(3, "dob", 4)]
    signed = with_band_keys(records, [0], bands=6)
    plan = plan_blocking(signed, profiles, rows=40, linkage=False, accuracy_cost_tradeoff=0.0, max_block_size=100)
    names = [rule.name for rule in plan.rules]
    # budget at tradeoff 0.0: 40 records x 2 pairs each = 80 pairs
    assert names[0] == "exact:phone"  # one pair
    assert "exact:name" not in names  # 5 blocks of 8: 140 pairs
    assert "exact:dob" not in names  # 4 blocks of 10: 180 pairs
    assert "exact:name+dob" in names  # 20 blocks of 2: 20 pairs
    considered = {entry["rule"]: entry for entry in plan.report()}
    assert considered["exact:name"]["pairs"] == 140 and not considered["exact:name"]["kept"]
    assert "exact:city" not in considered  # one value: not even a candidate
    assert all(isinstance(rule, ExactRule | MinHashBandRule) for rule in plan.rules)
    assert plan.single_column_costs()[3].pairs == 180


# Records whose normalized columns are also their blocking keys: rule i is the exact rule on
# column i, so a test can say which records share which key.
BLOCKED_SCHEMA = f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string"
COLUMN_RULES = [ExactRule(f"exact:c{i}", (i,)) for i in range(3)]


def _compared(records: DataFrame, linkage: bool = False, oversized: list[tuple[int, int]] | None = None) -> DataFrame:
    no_frequencies = term_frequencies(records, {})
    return compared_candidates(records, COLUMN_RULES, oversized or [], 3, no_frequencies, linkage, rows=records.count())


NUMBERED_SCHEMA = f"{RECORD_ID} long, {SOURCE} int, _gl_b0 long"


def _filter_of_every_block(numbered: DataFrame, rule_count: int, rows: int) -> JavaObject:
    """A Bloom filter holding every block number of `numbered`, of one record or more."""
    bloom = numbered.sparkSession._jvm.io.gluelabeling.BlockFilter.sized(1000, 0.01)
    for row in numbered.select(*[compare.block_column(rule) for rule in range(rule_count)]).collect():
        for number in row:
            if number is not None:
                bloom.put(number)
    return bloom


@pytest.mark.parametrize("every_block_filtered_in", [False, True])
def test_compared_candidates_dedup_each_pair_once_under_its_first_rule(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, every_block_filtered_in: bool
) -> None:
    if every_block_filtered_in:  # as if the Bloom filter's false positives were every block of one record
        monkeypatch.setattr(compare, "shared_blocks", _filter_of_every_block)
    records = spark.createDataFrame(
        [
            # ids deliberately out of order so that id_l < id_r is the function's doing
            (30, 0, "a", "x", "p"),
            (5, 0, "a", "x", "q"),
            (17, 0, "a", None, "q"),
            (8, 0, None, "x", "p"),
            (2, 0, "b", "y", "p"),
            (40, 0, None, None, None),
        ],
        BLOCKED_SCHEMA,
    )
    compared = _compared(records).cache()
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
    assert_df_equality(compared.select("id_l", "id_r", "rule"), expected, ignore_row_order=True, ignore_nullable=True)
    found = [(r.id_l, r.id_r) for r in compared.collect()]
    assert len(found) == len(set(found))  # once each, even when several rules agree
    # The levels come with the pair: 5-30 agree on all three columns, 5-8 miss column 0.
    levels = {(r.id_l, r.id_r): (r._gl_lvl0, r._gl_lvl1, r._gl_lvl2) for r in compared.collect()}
    assert levels[(5, 30)] == (3, 3, 0) and levels[(5, 8)] == (-1, 3, 0)


def test_compared_candidates_linkage_only_crosses_sources(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            (1, 0, "k", "m", None),
            (2, 0, "k", None, None),
            (9, 1, "k", "m", None),
            (4, 1, "k", None, None),
            (3, 1, None, "m", None),
        ],
        BLOCKED_SCHEMA,
    )
    expected = spark.createDataFrame(
        [(1, 9, 0), (1, 4, 0), (2, 9, 0), (2, 4, 0), (1, 3, 1)],  # 9-3 share "m" but both are table 1
        PAIR_SCHEMA,
    )
    assert_df_equality(
        _compared(records, linkage=True).select("id_l", "id_r", "rule"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_compared_candidates_carry_the_left_record_s_term_frequencies_and_compare_by_jaro_winkler(
    spark: SparkSession,
) -> None:
    records = spark.createDataFrame(
        [
            (1, 0, "martha", "smith", None),
            (2, 0, "marhta", "smith", "x"),
            (3, 0, "zoe", "smyth", "y"),
            (4, 0, "bob", "smith", "z"),
        ],
        BLOCKED_SCHEMA,
    )
    # One rule that puts everyone in one block.
    everyone = ExactRule("exact:everyone", (4,))
    keyed = records.withColumn("_gl_n4", F.lit("all"))
    # Column 1: "smith" is held by three of four records, so it is listed: 3/4; "smyth", held by
    # one, is not: the share of two, 2/4. Column 2: three values, none listed: 2/3; null: null.
    frequencies = term_frequencies(keyed, {1: 4, 2: 3})
    compared = compared_candidates(keyed, [everyone], [], 3, frequencies, False, rows=4)
    expected = spark.createDataFrame(
        # martha/marhta: Jaro-Winkler 0.961 (close); smith/smyth 0.893 (similar); x/y 0; null: -1.
        [
            (1, 2, 0, 2, 3, -1, 0.75, None),
            (1, 3, 0, 0, 1, -1, 0.75, None),
            (1, 4, 0, 0, 3, -1, 0.75, None),
            (2, 3, 0, 0, 1, 0, 0.75, 2 / 3),
            (2, 4, 0, 0, 3, 0, 0.75, 2 / 3),
            (3, 4, 0, 0, 1, 0, 0.5, 2 / 3),
        ],
        "id_l long, id_r long, rule int, _gl_lvl0 byte, _gl_lvl1 byte, _gl_lvl2 byte, _gl_tf1_l double, "
        "_gl_tf2_l double",
    )
    assert_df_equality(compared, expected, ignore_row_order=True, ignore_nullable=True)


def test_compared_candidates_level_every_kind_of_text_as_rapidfuzz_s_jaro_winkler(spark: SparkSession) -> None:
    # Texts of up to 64 characters below U+0100 ("é", "ü") are matched bit-parallel; "ł" and
    # longer texts take the plain loop. Both must give rapidfuzz's figure, inside a block.
    rng = random.Random(11)
    texts = ["".join(rng.choice("abcde") for _ in range(rng.randint(1, 9))) for _ in range(24)]
    texts += ["".join(rng.choice("abcde éü") for _ in range(rng.randint(1, 9))) for _ in range(12)]
    texts += ["łódź", "lodz", "a" * 70 + "b", "a" * 69 + "bc", "martha", "marhta", "dwayne", "duane"]
    # Ids in another order than the records': a block's member is compared with each later one
    # from its own masks, so the pair's left text stands on either side of the comparison.
    ids = rng.sample(range(len(texts)), len(texts))
    records = spark.createDataFrame([(ids[i], 0, "all", text, None) for i, text in enumerate(texts)], BLOCKED_SCHEMA)
    everyone = [ExactRule("exact:everyone", (0,))]
    compared = compared_candidates(records, everyone, [], 3, term_frequencies(records, {}), False, rows=len(texts))

    def level(left: str, right: str) -> int:
        similarity = JaroWinkler.normalized_similarity(left, right)
        return 3 if left == right else 2 if similarity >= CLOSE else 1 if similarity >= SIMILAR else 0

    text_of = dict(zip(ids, texts, strict=True))
    levels = {(row.id_l, row.id_r): row._gl_lvl1 for row in compared.collect()}
    assert levels == {(i, j): level(text_of[i], text_of[j]) for i, j in itertools.combinations(sorted(ids), 2)}


def _members(spark: SparkSession, rows: list[tuple[int, int, int | None, int | None, str]]) -> DataFrame:
    """block_members of records (id, source, block number of rule 0, of rule 1, text), every
    block of more than one record."""
    numbered = spark.createDataFrame(
        rows, f"{RECORD_ID} long, {SOURCE} int, _gl_b0 long, _gl_b1 long, _gl_n0 string"
    ).coalesce(1)
    shared = compare.shared_blocks(numbered, 2, len(rows))
    return compare.block_members(numbered, 2, ("_gl_n0",), term_frequencies(numbered, {}), shared)


def test_block_pairs_pair_only_one_rule_s_records_when_block_numbers_collide(spark: SparkSession) -> None:
    # A block of rule 0 and one of rule 1 that share the block number 7, as two hashes can.
    members = _members(
        spark, [(1, 0, 7, None, "ann"), (2, 0, 7, None, "ann"), (3, 0, None, 7, "bob"), (4, 0, None, 7, "bob")]
    )
    expected = spark.createDataFrame([(1, 2, 0, 3), (3, 4, 1, 3)], "id_l long, id_r long, rule int, _gl_lvl0 byte")
    assert_df_equality(
        compare.block_pairs(members.sortWithinPartitions("block"), 2, 1, (), linkage=False),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_block_members_are_the_records_of_blocks_of_more_than_one_record(spark: SparkSession) -> None:
    members = _members(spark, [(1, 0, 7, 8, "ann"), (2, 0, 7, 9, "ann"), (3, 0, 6, 9, None), (4, 0, 5, None, "bob")])
    assert sorted((r.block, r.rule) for r in members.collect()) == [(7, 0), (7, 0), (9, 1), (9, 1)]


def test_first_partitions_computes_no_other_partition(spark: SparkSession) -> None:
    # Four partitions of ten ids; computing a row of the last two fails.
    guarded = spark.range(0, 40, 1, 4).select(
        F.when(F.spark_partition_id() >= 2, F.raise_error(F.lit("computed"))).otherwise(F.col("id")).alias("id")
    )
    assert sorted(r.id for r in first_partitions(guarded, 0.5).collect()) == list(range(20))
    assert first_partitions(guarded, 0.3).count() == 20  # rounded up to whole partitions
    assert first_partitions(guarded, 1.0) is guarded


def test_block_pairs_read_no_partition_whose_pairs_no_one_asks_for(spark: SparkSession) -> None:
    # Two blocks, in the two partitions of the shuffle by block number (Spark's Murmur3 hash);
    # reading a row of the second block fails.
    numbers = spark.range(50).select("id", F.pmod(F.hash("id"), F.lit(2)).alias("partition")).collect()
    first, second = (next(r.id for r in numbers if r.partition == p) for p in (0, 1))
    members = (
        _members(
            spark,
            [
                (1, 0, first, None, "ann"),
                (2, 0, first, None, "ann"),
                (3, 0, second, None, "bob"),
                (4, 0, second, None, "bob"),
            ],
        )
        .repartition(2, "block")
        .withColumn("record", F.when(F.col("block") == second, F.raise_error(F.lit("read"))).otherwise(F.col("record")))
        .sortWithinPartitions("block")
    )
    pairs = compare.block_pairs(members, 2, 1, (), linkage=False)
    assert [(r.id_l, r.id_r) for r in first_partitions(pairs, 0.5).collect()] == [(1, 2)]


@pytest.mark.parametrize("result_bytes", [jvm.TASK_RESULTS_BYTES, 1])
def test_shared_blocks_hold_every_block_of_two_or_more_records_and_few_others(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, result_bytes: int
) -> None:
    # 20,000 blocks of one rule in one partition, every eleventh with a second record there;
    # every seventh has a second record in one of two other partitions. Negative numbers and
    # zero are block numbers too. With room for one task's filters only, one task reads all
    # three partitions: the result must be the same.
    monkeypatch.setattr(jvm, "TASK_RESULTS_BYTES", result_bytes)
    tasks: list[int] = []

    def counting_tasks(frame: DataFrame, class_name: str, *arguments: object) -> object:
        tasks.append(partition_count(frame))
        return jvm_call(frame, class_name, *arguments)

    monkeypatch.setattr(compare, "jvm_call", counting_tasks)
    numbers = list(range(-10_000, 10_000))
    alone = spark.createDataFrame([(n, 0, n) for n in numbers + numbers[::11]], NUMBERED_SCHEMA).coalesce(1)
    others = spark.createDataFrame([(n + 10**6, 0, n) for n in numbers[::7]], NUMBERED_SCHEMA).coalesce(2)
    numbered = alone.unionByName(others).withColumn("_gl_n0", F.lit("x"))
    shared = compare.shared_blocks(numbered, 1, numbered.count())
    assert tasks == [3 if result_bytes > 1 else 1]
    members = compare.block_members(numbered, 1, ("_gl_n0",), term_frequencies(numbered, {}), shared)
    passed = {row.block for row in members.select("block").distinct().collect()}
    again = set(numbers[::7]) | set(numbers[::11])
    assert again <= passed
    assert len(passed - again) <= 0.01 * (len(numbers) - len(again))


def test_oversized_blocks_are_dropped_from_their_rule_only(spark: SparkSession) -> None:
    giant = [(i, 0, "giant", None, None) for i in range(1, 7)]
    records = spark.createDataFrame(
        [*giant, (20, 0, "small", None, None), (21, 0, "small", None, None)], BLOCKED_SCHEMA
    )
    # Rule 1 pairs two members of the giant block of rule 0.
    records = records.withColumn("_gl_n1", F.when(F.col(RECORD_ID).isin(1, 2), F.lit("z")))
    giants = oversized_keys(block_sizes(with_rule_keys(records, COLUMN_RULES), 3), [0, 1, 2], max_block_size=3)
    assert len(giants) == 1 and giants[0][0] == 0
    # The giant block neither emits its 15 pairs nor hides 1-2 from the later rule.
    assert _pairs(_compared(records, oversized=giants).select("id_l", "id_r", "rule")) == {(20, 21, 0), (1, 2, 1)}
    # Without the cap, the giant block would have given C(6, 2) pairs.
    assert _compared(records).count() == 15 + 1


def test_oversized_blocks_are_counted_exactly_and_reported_by_the_values_their_keys_hash(
    spark: SparkSession,
) -> None:
    records = spark.createDataFrame(
        [(1, 0, "nsw", "2000"), (2, 0, "nsw", "2000"), (3, 0, "vic", "3000"), (4, 0, "vic", "3001")],
        f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string",
    )
    rules = [ExactRule("exact:state", (0,)), ExactRule("exact:state+postcode", (0, 1))]
    keyed = {row[RECORD_ID]: row for row in with_rule_keys(records, rules).collect()}
    suspects = [(1, keyed[1]._gl_k1), (0, keyed[3]._gl_k0), (1, keyed[3]._gl_k1)]
    blocks = oversized_blocks(records, rules, suspects, max_block_size=1)
    # The third suspect holds one record: not above the cap, so not dropped.
    assert [(block.rule, block.value) for block in blocks] == [(1, "nsw\u001f2000"), (0, "vic")]
    assert oversized_blocks(records, rules, suspects, max_block_size=2) == []
    report = BlockingPlan(rules, [], blocks).oversized_report(limit=1)
    assert report == [{"rule": "exact:state+postcode", "key": "nsw\u001f2000"}]
    assert oversized_blocks(records, rules, [], max_block_size=1) == []


def test_plan_blocking_above_the_sample_size_estimates_costs_and_counts_giants_exactly(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4,000 records: a phone shared by pairs (2,000 pairs), a code shared by 40 (blocks of 100,
    # 198,000 pairs: over the budget of 16,000) and a city shared by pairs but for one giant
    # block of 700, over the cap.
    rows = [(i, 0, f"p{i // 2}", f"c{i % 40}", "springfield" if i < 700 else f"town{i // 2}") for i in range(4000)]
    records = spark.createDataFrame(
        rows, f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string"
    )
    profiles = [_profile(0, "phone", 2000), _profile(1, "code", 40), _profile(2, "city", 1651)]
    monkeypatch.setattr(block, "PLAN_SAMPLE_RECORDS", 1000)
    monkeypatch.setattr(block, "PLAN_SAMPLE_MIN_SHARE", 0.25)
    assert block.planning_share(4000) == 0.25
    signed = with_band_keys(records, [], bands=4)
    plan = plan_blocking(signed, profiles, rows=4000, linkage=False, accuracy_cost_tradeoff=0.5, max_block_size=500)
    costs = plan.single_column_costs()
    assert costs[0].pairs == pytest.approx(2000, rel=0.3)
    assert costs[1].pairs == pytest.approx(198_000, rel=0.15)
    assert costs[2].keyed_left == pytest.approx(4000, rel=0.1)
    assert costs[2].pairs_capped == pytest.approx(1650, rel=0.3)
    assert [rule.name for rule in plan.rules] == ["exact:phone", "exact:city"]
    # The sample shows the giant at about 175 records, above half the scaled cap (62.5): it is
    # counted on all records, found above the cap, and dropped by its value.
    assert plan.oversized_report() == [{"rule": "exact:city", "key": "springfield"}]


# -------------------------------------------------------------------------------------- score


def test_jvm_similarities_equal_rapidfuzz(spark: SparkSession) -> None:
    rng = random.Random(5)

    def text() -> str:
        return "".join(rng.choice("abcde éü") for _ in range(rng.randint(0, 12)))

    cases = [(text(), text()) for _ in range(2000)] + [("martha", "marhta"), ("dwayne", "duane"), ("", ""), ("a", "")]
    # Longer than 64 characters, and beyond U+00FF: the table and the plain Jaro loop.
    cases += [("a" * 70 + "b", "a" * 69 + "bc"), ("x" * 80, "y" * 3 + "x" * 60), ("a" * 64, "a" * 63 + "b")]
    # Beyond U+00FF on the left (matches nothing in the masks), on the right (the plain loop).
    cases += [("łódź kraków", "lodz krakow"), ("lodz krakow", "łódź kraków"), ("kraków ł", "krakow łł")]
    register_jvm_functions(spark)
    pairs = spark.createDataFrame([*cases, (None, "x")], "l string, r string")
    rows = pairs.select(
        "l",
        "r",
        jaro_winkler(F.col("l"), F.col("r")).alias("jw"),
        levenshtein(F.col("l"), F.col("r")).alias("lev"),
        token_jaccard(F.col("l"), F.col("r")).alias("jaccard"),
    ).collect()
    for row in rows:
        if row.l is None:
            assert row.jw is None and row.lev is None and row.jaccard is None
            continue
        normalized = [" ".join(text.split()) for text in (row.l, row.r)]
        if all(normalized) and normalized == [row.l, row.r]:  # what normalize_text can give
            words, other = set(row.l.split(" ")), set(row.r.split(" "))
            assert row.jaccard == pytest.approx(len(words & other) / len(words | other)), (row.l, row.r)
        assert row.jw == pytest.approx(JaroWinkler.normalized_similarity(row.l, row.r), abs=1e-12), (row.l, row.r)
        assert row.lev == pytest.approx(Levenshtein.normalized_similarity(row.l, row.r), abs=1e-12), (row.l, row.r)


def test_with_features_similarities(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            (1, "john smith", "martha", None, None, 0.5),
            (2, "smith john", "marhta", "x", None, 0.25),
        ],
        f"{RECORD_ID} long, _gl_n0 string, _gl_n1 string, _gl_n2 string, _gl_n3 string, _gl_tf0 double",
    )
    pairs = spark.createDataFrame([(1, 2, 0)], PAIR_SCHEMA)
    records = records.withColumn("_gl_x3", F.when(F.col(RECORD_ID) == 1, 10.0).otherwise(4.0))
    features = PairFeatures(column_count=4, multi_word=frozenset({0, 1, 2}), numeric_scales=((3, 2.0),))
    row = with_features(pairs, records, features).first()
    assert row[distance_column(3)] == 3.0  # |10 - 4| / 2
    assert (row.id_l, row.id_r, row.rule) == (1, 2, 0)
    assert row[similarity_column(0)] == pytest.approx(JaroWinkler.normalized_similarity("john smith", "smith john"))
    assert row[jaccard_column(0)] == 1.0  # the same words, reordered
    typo = row[similarity_column(1)]
    assert typo == pytest.approx(JaroWinkler.normalized_similarity("martha", "marhta"))
    assert row[levenshtein_column(1)] == pytest.approx(1 - 2 / 6)  # a transposition is two edits
    assert row[jaccard_column(1)] == 0.0
    for column in (2, 3):  # one or both sides null: null, not NaN
        assert row[similarity_column(column)] is None
        assert row[levenshtein_column(column)] is None
    assert row[jaccard_column(2)] is None
    assert jaccard_column(3) not in row.asDict()  # not a multi-word column
    assert set(row.asDict()) == {"id_l", "id_r", "rule", *[name for _i, name in features.columns()]}


def test_pair_features_from_profiles() -> None:
    profiles = [
        ColumnProfile(0, "name", distinct=9, non_null_ratio=1.0, multi_word_ratio=0.5, numeric_scale=None),
        ColumnProfile(1, "code", distinct=9, non_null_ratio=1.0, multi_word_ratio=0.01, numeric_scale=None),
        ColumnProfile(2, "born", distinct=9, non_null_ratio=1.0, multi_word_ratio=0.0, numeric_scale=365.0),
    ]
    features = PairFeatures.of(profiles)
    assert features == PairFeatures(3, frozenset({0}), ((2, 365.0),))
    assert features.columns() == [
        (0, similarity_column(0)),
        (0, levenshtein_column(0)),
        (0, jaccard_column(0)),
        (1, similarity_column(1)),
        (1, levenshtein_column(1)),
        (2, similarity_column(2)),
        (2, levenshtein_column(2)),
        (2, distance_column(2)),
    ]


def test_random_pairs_bring_both_records_columns(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(i, i % 2, f"name{i}") for i in range(10)], f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string"
    )
    pairs = random_pairs(records, 1, linkage=False, sample_records=4)
    # Compared by every task slot, not by the one partition the sample's limit leaves.
    assert pairs.rdd.getNumPartitions() == spark.sparkContext.defaultParallelism > 1
    dedup = pairs.collect()
    assert len(dedup) == 4 * 3 // 2  # every pair of the 4 sampled records, once
    assert all(r.id_l < r.id_r and (r._gl_n0_l, r._gl_n0_r) == (f"name{r.id_l}", f"name{r.id_r}") for r in dedup)
    assert {r.rule for r in dedup} == {-1}
    again = random_pairs(records, 1, linkage=False, sample_records=4).collect()
    assert set(again) == set(dedup)  # hash order: the same sample every time
    linked = random_pairs(records, 1, linkage=True, sample_records=3).collect()
    assert len(linked) == 3 * 3
    assert all(r.id_l % 2 == 0 and r.id_r % 2 == 1 for r in linked)  # table 0 left, table 1 right


def test_comparison_levels(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(1.0,), (0.95,), (0.85,), (0.3,), (None,)], "_gl_sim0 double")
    assert [r[level_column(0)] for r in with_levels(frame, 1).collect()] == [3, 2, 1, 0, -1]


def test_term_frequency_columns_are_the_skewed_ones() -> None:
    costs = {
        0: RuleCost(
            0, 0, 0, largest_block=50, oversized_blocks=0, records_in_oversized=0, keyed_left=100, keyed_right=0
        ),
        1: RuleCost(
            1, 0, 0, largest_block=2, oversized_blocks=0, records_in_oversized=0, keyed_left=100, keyed_right=0
        ),
    }
    # column 0: 20 distinct values, one of them held by half the records: 10x its fair share
    assert term_frequency_columns(costs, [_profile(0, "name", 20), _profile(1, "phone", 99)]) == [0]


def _sampled_vectors(rng: np.random.Generator, probabilities: np.ndarray, size: int) -> np.ndarray:
    return np.column_stack([rng.choice(4, size=size, p=column) for column in probabilities])


def test_em_recovers_m_and_the_prior_from_comparison_vectors() -> None:
    rng = np.random.default_rng(3)
    m_true = np.array([[0.05, 0.05, 0.1, 0.8], [0.1, 0.1, 0.1, 0.7], [0.02, 0.03, 0.05, 0.9]])
    u = np.array([[0.9, 0.06, 0.03, 0.01], [0.8, 0.1, 0.06, 0.04], [0.95, 0.03, 0.015, 0.005]])
    levels = np.vstack([_sampled_vectors(rng, m_true, 3000), _sampled_vectors(rng, u, 27000)])
    levels[:50, 1] = -1  # a few nulls: ignored, not a level
    fitted = fit_m_and_priors(ComparisonVectors(np.zeros(len(levels), int), levels, np.ones(len(levels))), u)
    assert fitted.prior == pytest.approx(0.1, abs=0.01)
    assert fitted.rule_priors[0] == pytest.approx(fitted.prior)
    assert np.abs(fitted.m - m_true).max() < 0.03
    assert 1 < fitted.iterations < 100


def test_em_learns_what_a_rule_makes_its_non_matches_agree_on() -> None:
    """Rule 1 blocks on a column (masked, not shown) that implies column 0, as an email built
    from the names implies the names: its 20,000 non-matches all agree on column 0. With one
    u for every pair, that agreement is evidence and EM calls them matches; each rule's own u
    learns it is not."""
    rng = np.random.default_rng(5)
    m_true = np.array([[0.2, 0.1, 0.1, 0.6], [0.05, 0.05, 0.1, 0.8], [0.02, 0.03, 0.05, 0.9], [0.1, 0.0, 0.0, 0.9]])
    u = np.array([[0.98, 0.01, 0.005, 0.005], [0.9, 0.06, 0.03, 0.01], [0.95, 0.03, 0.015, 0.005], [0.8, 0, 0, 0.2]])
    u = (u + 1e-4) / (u + 1e-4).sum(axis=1, keepdims=True)
    implied = _sampled_vectors(rng, u, 20000)
    implied[:, 0] = 3
    levels = np.vstack([_sampled_vectors(rng, m_true, 2000), _sampled_vectors(rng, m_true, 500), implied])
    rules = np.array([0] * 2000 + [1] * 20500)
    vectors = ComparisonVectors(rules, levels, np.ones(len(levels)))

    fitted = fit_m_and_priors(vectors, u)
    assert fitted.prior == pytest.approx(2500 / 22500, abs=0.01)
    assert fitted.rule_priors[1] == pytest.approx(500 / 20500, abs=0.01)
    assert fitted.rule_u[1][0, 3] > 0.9 > 0.01 > fitted.rule_u[0][0, 3]  # rule 1's non-matches all agree
    assert np.abs(fitted.m - m_true).max() < 0.05

    one_u = fit_m_and_priors(vectors, u, rule_u_pseudo_pairs=1e12)  # every rule keeps the sampled u
    assert one_u.prior > 0.5


def test_comparison_vectors_leave_out_the_columns_a_pair_was_blocked_on(spark: SparkSession) -> None:
    levels = spark.createDataFrame(
        [(0, 3, 0, 2), (0, 3, 3, 3), (0, 3, 0, 3), (1, 1, 3, 3), (2, 2, 1, 0)],
        f"rule int, {level_column(0)} int, {level_column(1)} int, {level_column(2)} int",
    )
    # rule 0 fixes column 0, rule 1 columns 1 and 2; rule 2 (a MinHash band, say) fixes nothing
    vectors = comparison_vectors(levels, 3, {0: (0,), 1: (1, 2)})
    got = sorted(
        (rule, tuple(vector), count)
        for rule, vector, count in zip(
            vectors.rules.tolist(), vectors.levels.tolist(), vectors.counts.tolist(), strict=True
        )
    )
    assert got == [
        (0, (-1, 0, 2), 1.0),
        (0, (-1, 0, 3), 1.0),
        (0, (3, 3, 3), 1.0),  # rule 1 finds it too: neither rule's agreement made it a candidate
        (1, (1, -1, -1), 1.0),
        (2, (2, 1, 0), 1.0),
    ]


def test_u_probabilities_take_the_computed_exact_share() -> None:
    sampled = np.array([[0.7, 0.2, 0.08, 0.02]])
    u = u_probabilities(sampled, {0: 0.001})
    assert u[0, 3] == pytest.approx(0.001)
    assert u.sum() == pytest.approx(1.0)
    assert u[0, 0] / u[0, 1] == pytest.approx(0.7 / 0.2)  # the other levels keep their proportions


def test_match_score_adds_weights_and_discounts_common_values(spark: SparkSession) -> None:
    m = np.array([[0.05, 0.05, 0.1, 0.8], [0.1, 0.1, 0.2, 0.6]])
    u = np.array([[0.9, 0.05, 0.04, 0.01], [0.7, 0.1, 0.1, 0.1]])
    model = FellegiSunterModel(m, u, prior=0.2, iterations=5, term_frequency_columns=(0,))
    pairs = spark.createDataFrame(
        [(1, 9, 0, 3, 3, 0.001), (2, 9, 0, 3, 3, 0.2), (3, 9, 0, 0, 0, None), (4, 9, 0, -1, 3, None)],
        "id_l long, id_r long, rule int, _gl_lvl0 byte, _gl_lvl1 byte, _gl_tf0_l double",
    )
    got = {r.id_l: r.match_score for r in model.with_match_score(pairs, 2).collect()}

    def probability(weight: float) -> float:
        return 1 / (1 + 2 ** -(math.log2(0.2 / 0.8) + weight))

    rare = math.log2(0.8 / 0.001) + math.log2(0.6 / 0.1)
    common = math.log2(0.8 / 0.2) + math.log2(0.6 / 0.1)
    assert got[1] == pytest.approx(probability(rare))  # agreeing on a rare value: strong evidence
    assert got[2] == pytest.approx(probability(common))  # on a common one: much weaker
    assert got[3] == pytest.approx(probability(math.log2(0.05 / 0.9) + math.log2(0.1 / 0.7)))
    assert got[4] == pytest.approx(probability(math.log2(0.6 / 0.1)))  # the null column says nothing


def test_match_score_reads_a_pair_with_the_model_of_the_rule_that_found_it(spark: SparkSession) -> None:
    m = np.array([[0.05, 0.05, 0.1, 0.8], [0.1, 0.1, 0.2, 0.6]])
    u = np.array([[0.9, 0.05, 0.04, 0.01], [0.7, 0.1, 0.1, 0.1]])
    # Rule 1's non-matches agree on both columns twenty times as often as random pairs do.
    rule_u = {0: u, 1: np.array([[0.7, 0.05, 0.05, 0.2], [0.3, 0.05, 0.05, 0.6]])}
    model = FellegiSunterModel(
        m, u, 0.2, 5, (0,), rule_priors={0: 0.5, 1: 0.01}, rule_u=rule_u, columns_fixed_by_rule={0: (1,)}
    )
    pairs = spark.createDataFrame(
        [(1, 9, 1, 3, 3, 0.001), (2, 9, 0, 0, 3, None), (3, 9, 7, 2, -1, None)],
        "id_l long, id_r long, rule int, _gl_lvl0 byte, _gl_lvl1 byte, _gl_tf0_l double",
    )
    got = {r.id_l: r.match_score for r in model.with_match_score(pairs, 2).collect()}

    def probability(prior: float, weight: float) -> float:
        return 1 / (1 + 2 ** -(math.log2(prior / (1 - prior)) + weight))

    # Rule 1: its prior; its exact u scales the value's frequency, and weighs column 1.
    assert got[1] == pytest.approx(probability(0.01, math.log2(0.8 / (0.001 * 20)) + math.log2(0.6 / 0.6)))
    # Rule 0 blocked on column 1: its agreement there says nothing.
    assert got[2] == pytest.approx(probability(0.5, math.log2(0.05 / 0.9)))
    # A rule the model never saw: the population's prior and u.
    assert got[3] == pytest.approx(probability(0.2, math.log2(0.1 / 0.04)))


def test_score_unsupervised_separates_duplicates_from_strangers(spark: SparkSession) -> None:
    people = [(i, 0, f"given{i}", f"surname{i}", f"{1950 + i % 40}0{i % 9 + 1}1{i % 9}") for i in range(60)]
    duplicates = [(100 + i, 0, f"given{i}", f"surnane{i}", f"{1950 + i % 40}0{i % 9 + 1}1{i % 9}") for i in range(10)]
    records = spark.createDataFrame(
        people + duplicates, f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string"
    ).cache()
    profiles = [_profile(0, "given", 60), _profile(1, "surname", 70), _profile(2, "dob", 60)]
    true_pairs = [(i, 100 + i, 0) for i in range(10)]
    strangers = [(i, i + 1, 0) for i in range(20, 40)]
    pairs = spark.createDataFrame(true_pairs + strangers, PAIR_SCHEMA)
    costs = {
        i: RuleCost(
            i, 10, 10, largest_block=2, oversized_blocks=0, records_in_oversized=0, keyed_left=70, keyed_right=0
        )
        for i in range(3)
    }
    levels = pair_levels(with_both_records(pairs, records, ("_gl_n0", "_gl_n1", "_gl_n2")), 3)
    scored, model = score_unsupervised(levels, records, profiles, costs, {}, linkage=False)
    got = {(r.id_l, r.id_r): r.match_score for r in scored.collect()}
    assert min(got[(a, b)] for a, b, _ in true_pairs) > 0.9
    assert max(got[(a, b)] for a, b, _ in strangers) < 0.1
    assert model.prior == pytest.approx(10 / 30, abs=0.05)
    described = model.describe(["given", "surname", "dob"], ["exact:given"])
    assert set(described["match_weights"]) == {"given", "surname", "dob"}
    assert described["prior_per_rule"] == {"exact:given": pytest.approx(model.prior, abs=1e-6)}


def test_score_unsupervised_fits_on_the_pairs_of_the_first_partitions_and_scores_all(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(i, 0, f"given{i % 30}", f"surname{i % 45}", f"dob{i % 20}") for i in range(90)],
        f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string",
    ).cache()
    profiles = [_profile(0, "given", 30), _profile(1, "surname", 45), _profile(2, "dob", 20)]
    costs = {i: RuleCost(i, 90, 90, 3, 0, 0, 90, 0) for i in range(3)}
    pairs = spark.createDataFrame(
        [(i, j, 0) for i in range(90) for j in range(i + 1, 90) if (j - i) % 15 == 0], PAIR_SCHEMA
    )
    levels = pair_levels(with_both_records(pairs, records, ("_gl_n0", "_gl_n1", "_gl_n2")), 3)
    levels = levels.repartition(4, "id_l").localCheckpoint()
    first_half = levels.where(F.spark_partition_id() < 2).localCheckpoint()
    scored, sampled = score_unsupervised(levels, records, profiles, costs, {}, linkage=False, em_share=0.5)
    _, alone = score_unsupervised(first_half, records, profiles, costs, {}, linkage=False)
    assert 0 < first_half.count() < levels.count()
    assert sampled.prior == alone.prior and np.array_equal(sampled.m, alone.m)
    assert scored.count() == levels.count()
    # When the first partitions hold no pair, EM reads them all rather than find none.
    last_half = levels.where(F.spark_partition_id() >= 2).localCheckpoint()
    _, from_empty_sample = score_unsupervised(last_half, records, profiles, costs, {}, linkage=False, em_share=0.5)
    _, from_all = score_unsupervised(last_half, records, profiles, costs, {}, linkage=False)
    assert first_partitions(last_half, 0.5).count() == 0 < last_half.count()
    assert from_empty_sample.prior == from_all.prior and np.array_equal(from_empty_sample.m, from_all.m)


def test_score_unsupervised_of_no_candidate_pairs_says_so(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [(1, 0, "a", "b", "c")], f"{RECORD_ID} long, {SOURCE} int, _gl_n0 string, _gl_n1 string, _gl_n2 string"
    )
    profiles = [_profile(0, "given", 1), _profile(1, "surname", 1), _profile(2, "dob", 1)]
    levels = pair_levels(
        with_both_records(spark.createDataFrame([], PAIR_SCHEMA), records, ("_gl_n0", "_gl_n1", "_gl_n2")), 3
    )
    with pytest.raises(InputDataError, match="no candidate pairs"):
        score_unsupervised(levels, records, profiles, {}, {}, linkage=False)


# ------------------------------------------------------------------------------------ cluster


@pytest.mark.parametrize("local_edges_max", [LOCAL_EDGES_MAX, 0], ids=["on-driver", "propagated"])
def test_connected_components_chain_and_pair(spark: SparkSession, local_edges_max: int) -> None:
    edges = spark.createDataFrame([(3, 4, 0), (1, 2, 0), (10, 11, 0), (2, 3, 0)], PAIR_SCHEMA)
    components, rounds = connected_components(edges, max_iterations=10, local_edges_max=local_edges_max)
    expected = spark.createDataFrame([(1, 1), (2, 1), (3, 1), (4, 1), (10, 10), (11, 10)], "id long, component long")
    assert_df_equality(components, expected, ignore_row_order=True, ignore_nullable=True)
    assert rounds >= 1


def test_propagated_components_count_and_cap_their_rounds(spark: SparkSession) -> None:
    edges = spark.createDataFrame([(3, 4, 0), (1, 2, 0), (10, 11, 0), (2, 3, 0)], PAIR_SCHEMA)
    _components, rounds = connected_components(edges, max_iterations=10, local_edges_max=0)
    assert rounds == 4  # the chain 1-2-3-4 settles in 3 rounds, and a fourth sees no change

    # The round count is capped: one round is not enough for the chain, and says so.
    partial, capped = connected_components(edges, max_iterations=1, local_edges_max=0)
    assert capped == 1
    assert {r.id: r.component for r in partial.collect()}[4] == 3


def test_components_on_driver_of_no_edges_is_empty(spark: SparkSession) -> None:
    components, _rounds = connected_components(spark.createDataFrame([], PAIR_SCHEMA))
    assert components.count() == 0
    assert components.schema.simpleString() == "struct<id:bigint,component:bigint>"


def test_linked_components_match_a_breadth_first_search() -> None:
    rng = np.random.default_rng(7)
    # Sparse random edges between ids far apart, so chains, stars and many small components.
    left, right = rng.integers(0, 10**9, 300) // 10**6, rng.integers(0, 10**9, 300) // 10**6
    ids, components, rounds = linked_components(left, right)

    neighbours: dict[int, set[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    expected: dict[int, int] = {}
    for start in sorted(neighbours):
        if start in expected:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            frontier = [n for node in frontier for n in neighbours[node] if n not in seen]
            seen.update(frontier)
        expected.update({member: min(seen) for member in seen})
    assert dict(zip(ids.tolist(), components.tolist(), strict=True)) == expected
    sizes = Counter(expected.values())
    assert len(sizes) > 1 and max(sizes.values()) > 2  # several components, not all pairs
    assert rounds >= 1


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


RIVALRY_SCHEMA = "id_l long, id_r long, rule int, match_score double, rival_score double, classifier_decides boolean"


def _random_scored_pairs(
    spark: SparkSession, seed: int, records: int, draws: int, threshold: float
) -> tuple[list[tuple[int, int, int, float]], DataFrame, DataFrame]:
    """`draws` random pairs among records 1..records with random scores: (the pairs as tuples,
    the scored pairs frame, its components at `threshold`)."""
    rng = random.Random(seed)
    pairs = sorted({tuple(sorted(rng.sample(range(1, records + 1), 2))) for _ in range(draws)})
    pairs_scores = [(left, right, 0, round(rng.random(), 3)) for left, right in pairs]
    scored = spark.createDataFrame(pairs_scores, "id_l long, id_r long, rule int, match_score double")
    components = spark.createDataFrame(_components(pairs_scores, threshold), "id long, component long")
    return pairs_scores, scored, components


def test_score_extremes_are_each_records_score_nearest_the_threshold_and_best(spark: SparkSession) -> None:
    ends = spark.createDataFrame(
        [(1, 0.9), (1, 0.45), (2, 0.1), (-3, 0.7), (-3, 0.2), (-3, 0.35), (0, 0.5)], "id long, match_score double"
    )
    expected = spark.createDataFrame(
        [(1, 0.05, 0.9), (2, 0.4, 0.1), (-3, 0.15, 0.7), (0, 0.0, 0.5)], "id long, distance double, best double"
    )
    assert_approx_df_equality(score_extremes(ends, 0.5), expected, 1e-12, ignore_row_order=True, ignore_nullable=True)
    # 100,000 ends of 79,999 records, so each partition's table grows several times; the
    # result is what Spark's min and max say.
    many = spark.range(-50_000, 50_000).select(
        (F.col("id") % 40_000).alias("id"), (F.abs(F.sin("id"))).alias("match_score")
    )
    oracle = many.groupBy("id").agg(
        F.min(F.abs(F.col("match_score") - 0.3)).alias("distance"), F.max("match_score").alias("best")
    )
    assert_df_equality(score_extremes(many, 0.3), oracle, ignore_row_order=True, ignore_nullable=True)


def test_sample_labeling_sets_is_deterministic(spark: SparkSession) -> None:
    threshold = 0.85
    pairs, scored, components = _random_scored_pairs(spark, seed=5, records=30, draws=60, threshold=threshold)
    scored = scored.repartition(2)
    config = SamplingConfig(sets=3, min_rows=4, max_rows=6, seed=3)

    first = sample_labeling_sets(spark, scored, components, threshold, config)
    second = sample_labeling_sets(spark, scored.repartition(3), components, threshold, config)
    assert_df_equality(first, second)  # same rows, same order

    rows = first.collect()
    assert first.columns == ["labeling_set_id", RECORD_ID]
    ids = [r[RECORD_ID] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {i for left, right, _rule, _score in pairs for i in (left, right)}
    sizes = {s: sum(r.labeling_set_id == s for r in rows) for s in {r.labeling_set_id for r in rows}}
    assert sorted(sizes) == [f"set-00{n}" for n in range(1, len(sizes) + 1)]
    assert 1 <= len(sizes) <= config.sets
    ordered = [sizes[s] for s in sorted(sizes)]
    assert all(config.min_rows <= size <= config.max_rows for size in ordered[:-1])
    assert 2 <= ordered[-1] <= config.max_rows


def test_sample_labeling_sets_never_shows_excluded_records(spark: SparkSession) -> None:
    _, scored, components = _random_scored_pairs(spark, seed=8, records=40, draws=120, threshold=0.9)
    config = SamplingConfig(sets=3, min_rows=4, max_rows=6, seed=3)
    first = {r[RECORD_ID] for r in sample_labeling_sets(spark, scored, components, 0.5, config).collect()}
    second = sample_labeling_sets(spark, scored, components, 0.5, config, excluded=frozenset(first)).collect()
    assert first and second  # enough records for two rounds
    assert not first & {r[RECORD_ID] for r in second}


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


def test_shown_keys_reads_complete_earlier_labeling_sets_only(spark: SparkSession, tmp_path: Path) -> None:
    records, sets = _records_and_sets(spark)
    output = tmp_path / "labels"
    first = write_labeling_set(spark, labeling_set_rows(records, sets, DATA_COLUMNS), str(output), "tr-1")
    unfinished = output / "tr-2"
    unfinished.mkdir()  # no _SUCCESS: a run that never completed
    shown = shown_keys(spark, [first, str(unfinished)], "id")
    assert shown is not None
    assert sorted(row.key for row in shown.collect()) == ["1", "2", "3", "4"]
    # Two complete runs: two partitioned folders read as one.
    second = write_labeling_set(spark, labeling_set_rows(records, sets, DATA_COLUMNS), str(output), "tr-3")
    both = shown_keys(spark, [first, second], "id")
    assert both is not None and sorted(row.key for row in both.collect()) == ["1", "2", "3", "4"]
    assert shown_keys(spark, [str(unfinished)], "id") is None


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


def test_sample_labeling_sets_asks_about_pairs_the_two_models_dispute(spark: SparkSession) -> None:
    threshold = 0.85
    pairs, _, components = _random_scored_pairs(spark, seed=5, records=30, draws=60, threshold=threshold)
    # The rival model agrees everywhere but on two pairs of records outside every other pair:
    # it calls (100, 101) a match the deciding model is sure is not one, and the reverse (102, 103).
    agreeing = [(*pair, pair[3], False) for pair in pairs]
    disputed = [(100, 101, 0, 1e-9, 0.97, False), (102, 103, 0, 0.99, 0.01, False)]
    scored = spark.createDataFrame(agreeing + disputed, RIVALRY_SCHEMA)
    # Anchors near the threshold, and disputed ones: none drawn at random, which could draw 100.
    config = SamplingConfig(sets=3, min_rows=4, max_rows=6, seed=3, boundary_share=1.0, band_share=0.0)

    rows = sample_labeling_sets(spark, scored, components, threshold, config).collect()
    set_of = {r[RECORD_ID]: r.labeling_set_id for r in rows}
    # Each disputed pair is asked about as one group, though (100, 101) scores 1e-9.
    assert set_of[100] == set_of[101] and set_of[102] == set_of[103]
    assert len(set_of) == len(rows)
    without_rival = sample_labeling_sets(
        spark, scored.drop("rival_score", "classifier_decides"), components, threshold, config
    ).collect()
    assert 100 not in {r[RECORD_ID] for r in without_rival}
    not_asked = dataclasses.replace(config, disputed_share=0.0)
    assert 100 not in {
        r[RECORD_ID] for r in sample_labeling_sets(spark, scored, components, threshold, not_asked).collect()
    }
    with pytest.raises(ValueError):
        SamplingConfig(missed_share=0.5, disputed_share=0.5)


def test_sample_labeling_sets_takes_disputes_in_turn_by_the_unsupervised_models_region(spark: SparkSession) -> None:
    threshold = 0.5
    pairs, _, components = _random_scored_pairs(spark, seed=5, records=30, draws=60, threshold=threshold)
    agreeing = [(*pair, pair[3], False) for pair in pairs]
    # Twenty pairs the unsupervised model is sure match and the deciding classifier is sure do
    # not, and one the unsupervised model, deciding, is sure does not match and the classifier
    # calls a match. Both deciding scores lie below 0.01, but the unsupervised model's lie in
    # different regions: the one pair is a kind of its own, asked about as soon as the many are.
    many = [(200 + 2 * i, 201 + 2 * i, 0, 1e-9, 0.999, True) for i in range(20)]
    one = [(100, 101, 0, 1e-9, 0.97, False)]
    scored = spark.createDataFrame(agreeing + many + one, RIVALRY_SCHEMA)
    config = SamplingConfig(
        sets=3, min_rows=2, max_rows=3, seed=3, boundary_share=1.0, band_share=0.0, missed_share=0.0, disputed_share=0.9
    )

    rows = sample_labeling_sets(spark, scored, components, threshold, config).collect()
    set_of = {r[RECORD_ID]: r.labeling_set_id for r in rows}
    assert set_of[100] == set_of[101]


def test_sample_labeling_sets_asks_about_missed_pairs_as_groups(spark: SparkSession) -> None:
    _, scored, components = _random_scored_pairs(spark, seed=5, records=30, draws=60, threshold=0.85)
    # Two pairs blocking did not propose that the model calls matches; records 100..103 are in no candidate pair.
    missed = spark.createDataFrame([(100, 101, 0.97), (102, 103, 0.9)], "id_l long, id_r long, match_score double")
    config = SamplingConfig(sets=3, min_rows=4, max_rows=6, seed=3, missed_share=0.3)

    rows = sample_labeling_sets(spark, scored, components, 0.85, config, missed=missed).collect()
    set_of = {r[RECORD_ID]: r.labeling_set_id for r in rows}
    assert set_of[100] == set_of[101] and set_of[102] == set_of[103]
    assert len(set_of) == len(rows)  # no record twice
    without = {r[RECORD_ID] for r in sample_labeling_sets(spark, scored, components, 0.85, config).collect()}
    assert not without & {100, 101, 102, 103}
    excluded = sample_labeling_sets(spark, scored, components, 0.85, config, frozenset({101}), missed).collect()
    assert not {r[RECORD_ID] for r in excluded} & {100, 101}
    with pytest.raises(ValueError):
        SamplingConfig(missed_share=1.0)


# ----------------------------------------------------------------------------------- literals


def test_column_in_selects_what_isin_selects_over_the_whole_64_bit_range(spark: SparkSession) -> None:
    extremes = [-(2**63), 2**63 - 1, -1, 0]
    frame = spark.createDataFrame([(i,) for i in [*extremes, 5, 6, *range(100, 130)]], "id long")
    wanted = [*extremes, 6, *range(100, 120), 999]

    chosen = {r.id for r in frame.where(column_in("id", wanted)).collect()}

    assert chosen == {r.id for r in frame.where(F.col("id").isin(wanted)).collect()}
    assert chosen == {*extremes, 6, *range(100, 120)}
    assert frame.where(column_in("id", [])).count() == 0
    assert frame.where(~column_in("id", frozenset())).count() == frame.count()
