"""Learning from labels on tiny frames: the classifier, FindMatches' match_id, evaluation metrics."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import ColumnProfile
from glue_labeling.pipeline.classify import labeled_pair_ids, labeled_records, score_supervised
from glue_labeling.pipeline.load import with_record_id
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA

PAIR_SCHEMA = "id_l long, id_r long, rule int"


GIVEN = ("anna", "boris", "clara", "dmitri", "elena", "felix", "greta", "hugo", "ingrid", "jonas", "karla", "lukas")
SURNAMES = ("smith", "novak", "garcia", "tanaka", "okafor", "muller", "rossi", "dubois", "kowalski", "silva")


def _person(i: int) -> tuple[str, str, str]:
    return GIVEN[i % 12], SURNAMES[i % 10] + "son" * (i // 10), f"19{50 + i}-0{i % 9 + 1}-{10 + i % 17}"


def _people(spark: SparkSession) -> DataFrame:
    """30 people and, for the first 12, a copy with a typo in the surname: keys p<i> and d<i>."""
    rows = [(f"p{i}", *_person(i)) for i in range(30)]
    rows += [(f"d{i}", given, surname[:-1] + "x", dob) for i in range(12) for given, surname, dob in [_person(i)]]
    frame = spark.createDataFrame(rows, "key string, given string, surname string, dob string")
    return with_record_id(frame.withColumn(SOURCE, F.lit(0)), "key")


def _normalized(people: DataFrame) -> DataFrame:
    return people.select(RECORD_ID, SOURCE, "key", *[F.col(c).alias(f"_gl_n{i}") for i, c in enumerate(COLUMNS)])


COLUMNS = ("given", "surname", "dob")
PROFILES = [ColumnProfile(i, name, 30, 1.0, 0.0) for i, name in enumerate(COLUMNS)]


def _labels(spark: SparkSession, pairs: list[tuple[str, str, bool]]) -> DataFrame:
    return spark.createDataFrame([(0, a, 0, b, match) for a, b, match in pairs], LABELED_PAIRS_SCHEMA)


def _ids(people: DataFrame) -> dict[str, int]:
    return {row.key: row[RECORD_ID] for row in people.select("key", RECORD_ID).collect()}


def test_labeled_pair_ids_are_the_record_ids_oriented_as_candidate_pairs(spark: SparkSession) -> None:
    people = _people(spark)
    ids = _ids(people)
    labels = _labels(spark, [("p1", "d1", True), ("d2", "p3", False)])
    got = {(row.id_l, row.id_r, row.is_match) for row in labeled_pair_ids(labels).collect()}
    expected = {
        (min(ids["p1"], ids["d1"]), max(ids["p1"], ids["d1"]), True),
        (min(ids["d2"], ids["p3"]), max(ids["d2"], ids["p3"]), False),
    }
    assert got == expected
    assert labeled_records(labels) == {ids[k] for k in ("p1", "d1", "d2", "p3")}
    linkage = spark.createDataFrame([(0, "a", 1, "a", True)], LABELED_PAIRS_SCHEMA)
    linked = labeled_pair_ids(linkage).first()
    tables = spark.createDataFrame([(0, "a"), (1, "a")], f"{SOURCE} int, key string")
    by_source = {row[SOURCE]: row[RECORD_ID] for row in with_record_id(tables, "key").collect()}
    assert (linked.id_l, linked.id_r) == (by_source[0], by_source[1])


def test_score_supervised_learns_from_labels_and_scores_unlabeled_candidates(spark: SparkSession) -> None:
    people = _people(spark)
    ids = _ids(people)
    records = _normalized(people).cache()
    # Labels: 6 typo copies match, 6 neighbours do not; none of them is a candidate pair.
    labels = _labels(
        spark,
        [(f"p{i}", f"d{i}", True) for i in range(6)] + [(f"p{i}", f"p{i + 1}", False) for i in range(20, 26)],
    )
    unseen_matches = [(ids[f"p{i}"], ids[f"d{i}"]) for i in range(6, 12)]
    unseen_strangers = [(ids[f"p{i}"], ids[f"p{i + 2}"]) for i in range(6, 12)]
    pairs = spark.createDataFrame(
        [(min(a, b), max(a, b), 0) for a, b in unseen_matches + unseen_strangers], PAIR_SCHEMA
    )
    scored, classifier = score_supervised(pairs, records, PROFILES, labels)
    got = {(row.id_l, row.id_r): row.match_score for row in scored.collect()}
    assert len(got) == 12
    assert min(got[(min(a, b), max(a, b))] for a, b in unseen_matches) > 0.8
    assert max(got[(min(a, b), max(a, b))] for a, b in unseen_strangers) < 0.2
    assert classifier.training_pairs == 12
    importances = classifier.column_importances(list(COLUMNS))
    assert set(importances) == set(COLUMNS)
    assert sum(importances.values()) == pytest.approx(1.0)
    assert {"_gl_sim0", "_gl_lev2", "_gl_lvl1", "match_score"} <= set(scored.columns)
