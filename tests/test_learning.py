"""Learning from labels on tiny frames: the classifier, FindMatches' match_id, evaluation metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _in_process import InProcessLauncher, run_job
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue_labeling.contract.errors import MLTransformNotReadyException
from glue_labeling.find_matches import MATCH_ID, enforce_labels, find_matches, run_transform
from glue_labeling.labels.metrics import (
    CLASSIFIER,
    SURE_MATCH,
    SURE_NON_MATCH,
    UNSUPERVISED,
    UNSURE,
    ModelChoice,
    area_under_pr_curve,
    choose_model,
    find_matches_metrics,
    is_held_out,
    label_fold,
    sign_test_p_value,
)
from glue_labeling.labels.store import LABELS_SCHEMA
from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import ColumnProfile
from glue_labeling.pipeline.classify import (
    FOLD,
    choose_scoring,
    labeled_pair_ids,
    labeled_records,
    score_supervised,
    with_label_fold,
)
from glue_labeling.pipeline.load import InputDataError, with_record_id
from glue_labeling.pipeline.run import LABELED_PAIRS_SCHEMA, RunReport
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings
from glue_labeling.tasks.evaluate import held_out_scores, split_labels

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
PROFILES = [ColumnProfile(i, name, 30, 1.0, 0.0, None) for i, name in enumerate(COLUMNS)]


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
    # The unsupervised model is unsure of every pair (0.5) but the last two, where it is sure
    # and, against the labels' lesson, keeps its own score.
    unsure = [(min(a, b), max(a, b), 0, 0.5) for a, b in unseen_matches[:-1] + unseen_strangers[:-1]]
    sure = [(*sorted(unseen_matches[-1]), 0, 1e-7), (*sorted(unseen_strangers[-1]), 0, 0.999)]
    pairs = spark.createDataFrame(unsure + sure, f"{PAIR_SCHEMA}, match_score double")
    scored, classifier = score_supervised(pairs, records, PROFILES, labels, (UNSURE,))
    rows = scored.collect()
    got = {(row.id_l, row.id_r): row.match_score for row in rows}
    rival = {(row.id_l, row.id_r): row.rival_score for row in rows}
    assert len(got) == 12
    assert min(got[(min(a, b), max(a, b))] for a, b in unseen_matches[:-1]) > 0.8
    assert max(got[(min(a, b), max(a, b))] for a, b in unseen_strangers[:-1]) < 0.2
    assert got[tuple(sorted(unseen_matches[-1]))] == 1e-7
    assert got[tuple(sorted(unseen_strangers[-1]))] == 0.999
    # The rival score is the other model's: the unsupervised 0.5 where the classifier decides,
    # and where the unsupervised model does, the classifier's own opinion, which disputes it.
    assert {rival[(a, b)] for a, b, _rule, _score in unsure} == {0.5}
    decides = {(row.id_l, row.id_r): row.classifier_decides for row in rows}
    assert decides == {(a, b): (a, b, rule, score) in unsure for a, b, rule, score in unsure + sure}
    assert rival[tuple(sorted(unseen_matches[-1]))] > 0.8
    assert rival[tuple(sorted(unseen_strangers[-1]))] < 0.2
    assert classifier.training_pairs == 12
    importances = classifier.column_importances(list(COLUMNS))
    assert set(importances) == set(COLUMNS)
    assert sum(importances.values()) == pytest.approx(1.0)
    assert {"_gl_sim0", "_gl_lev2", "_gl_lvl1", "match_score"} <= set(scored.columns)


# ------------------------------------------------------------------------ choice of model


NONE_RIGHT_ALONE = {SURE_NON_MATCH: (0, 0), UNSURE: (0, 0), SURE_MATCH: (0, 0)}


def test_choose_model_hands_the_classifier_the_regions_where_it_beats_the_unsupervised_model() -> None:
    # (region, unsupervised, classifier, is_match). At 0.5 the unsupervised model misses one
    # match of three and calls one non-match: F1 2/3; the classifier gets all four right: F1 1.
    # Three such groups: the classifier alone is right on 6 pairs, the unsupervised model alone
    # on none; 6 heads in 6 flips has probability 1/64, under the 5% level.
    group = [(UNSURE, 0.9, 0.8, True), (UNSURE, 0.4, 0.7, True), (UNSURE, 0.95, 0.9, True), (UNSURE, 0.6, 0.1, False)]
    classifier_better = group * 3
    won = {**NONE_RIGHT_ALONE, UNSURE: (6, 0)}
    assert choose_model(classifier_better, 0.5) == ModelChoice(
        CLASSIFIER, (UNSURE,), 12, pytest.approx(2 / 3), 1.0, 1.0, won
    )
    swapped = [(r, c, u, m) for r, u, c, m in classifier_better]
    lost = {**NONE_RIGHT_ALONE, UNSURE: (0, 6)}
    assert choose_model(swapped, 0.5) == ModelChoice(UNSUPERVISED, (), 12, 1.0, pytest.approx(2 / 3), 1.0, lost)
    # One group: a better F1 on 2 disagreements (probability 1/4 by chance) is not enough.
    assert choose_model(group, 0.5).chosen == UNSUPERVISED
    # A tie keeps the unsupervised model, however the probabilities differ off the threshold.
    tie = [(SURE_MATCH, 0.999, 0.6, True), (SURE_NON_MATCH, 0.001, 0.4, False)]
    assert choose_model(tie, 0.5) == ModelChoice(UNSUPERVISED, (), 2, 1.0, 1.0, 1.0, NONE_RIGHT_ALONE)
    # The threshold decides: at 0.9 the classifier misses two matches (0.8, 0.7; F1 0.5), the
    # unsupervised model one (0.4; F1 0.8).
    assert choose_model(classifier_better, 0.9).chosen == UNSUPERVISED


def test_choose_model_judges_each_region_of_the_unsupervised_score_apart() -> None:
    unsure_won = [(UNSURE, 0.4, 0.7, True)] * 6
    # Where the unsupervised model is sure and right, the same classifier calls six strangers
    # matches: it decides only the region it won, and the combination beats both.
    sure_lost = [(SURE_NON_MATCH, 0.001, 0.9, False)] * 6
    choice = choose_model(unsure_won + sure_lost, 0.5)
    assert (choice.chosen, choice.classifier_regions) == (CLASSIFIER, (UNSURE,))
    assert choice.only_right == {SURE_NON_MATCH: (0, 6), UNSURE: (6, 0), SURE_MATCH: (0, 0)}
    assert choice.combined_f1 == 1.0 > choice.classifier_f1
    # Labels can overrule the unsupervised model where it is sure, given enough of them: a
    # stricter labeler says five sure matches are not.
    stricter = [(SURE_MATCH, 0.999, 0.2, False)] * 5 + [(SURE_MATCH, 0.999, 0.8, True)] * 5
    assert choose_model(stricter, 0.5).classifier_regions == (SURE_MATCH,)
    assert choose_model(stricter[1:], 0.5).chosen == UNSUPERVISED  # 4 to 0: p 1/16
    # Where the unsupervised model is unsure, 3 wins without a loss are enough (p 1/8), 2 are not.
    assert choose_model(unsure_won[:3], 0.5).classifier_regions == (UNSURE,)
    assert choose_model(unsure_won[:2], 0.5).chosen == UNSUPERVISED


def test_the_sign_test_p_value() -> None:
    assert sign_test_p_value(0, 0) == 1.0
    assert sign_test_p_value(5, 0) == pytest.approx(1 / 32)
    assert sign_test_p_value(5, 1) == pytest.approx(7 / 64)  # 5 or 6 heads of 6


def test_the_spark_label_fold_is_the_python_one(spark: SparkSession) -> None:
    rows = [(0, f"k{i}", i % 2, f"k{i * 7}é,x", i % 3 == 0) for i in range(40)]
    labels = spark.createDataFrame(rows, LABELED_PAIRS_SCHEMA)
    expected = spark.createDataFrame(
        [(*row, label_fold(*row[:4])) for row in rows], f"{LABELED_PAIRS_SCHEMA}, {FOLD} int"
    )
    assert_df_equality(with_label_fold(labels), expected, ignore_nullable=True)
    assert {label_fold(*row[:4]) for row in rows} == {0, 1, 2, 3}


# Every typo copy p<i>/d<i> matches; neighbours p<i>/p<i+1> do not: 12 matches, 17 non-matches.
CHOICE_LABELS = [(f"p{i}", f"d{i}", True) for i in range(12)] + [(f"p{i}", f"p{i + 1}", False) for i in range(12, 29)]


def _unsupervised_scores(spark: SparkSession, ids: dict[str, int], score: dict[bool, float]) -> DataFrame:
    """The labeled pairs as candidate pairs, scored `score[is_match]` by a stand-in unsupervised model."""
    rows = [(min(ids[a], ids[b]), max(ids[a], ids[b]), 0, score[match]) for a, b, match in CHOICE_LABELS]
    return spark.createDataFrame(rows, f"{PAIR_SCHEMA}, match_score double")


def test_choose_scoring_keeps_a_perfect_unsupervised_model_and_drops_a_useless_one(spark: SparkSession) -> None:
    people = _people(spark)
    ids = _ids(people)
    records = _normalized(people).cache()
    labels = _labels(spark, CHOICE_LABELS)

    perfect = choose_scoring(
        labels, records, PROFILES, _unsupervised_scores(spark, ids, {True: 0.99, False: 0.01}), 0.5
    )
    useless = choose_scoring(labels, records, PROFILES, _unsupervised_scores(spark, ids, {True: 0.3, False: 0.3}), 0.5)

    # Out of fold, the classifier separates typo copies from neighbours too: a tie, so the
    # perfect unsupervised model stays; the useless one (it matches nothing: F1 0) goes.
    assert perfect == ModelChoice(UNSUPERVISED, (), len(CHOICE_LABELS), 1.0, 1.0, 1.0, NONE_RIGHT_ALONE)
    useless_won = {**NONE_RIGHT_ALONE, UNSURE: (12, 0)}
    assert useless == ModelChoice(CLASSIFIER, (UNSURE,), len(CHOICE_LABELS), 0.0, 1.0, 1.0, useless_won)


def test_a_labeled_pair_blocking_misses_counts_as_a_non_match_for_both_models(spark: SparkSession) -> None:
    people = _people(spark)
    ids = _ids(people)
    records = _normalized(people).cache()
    candidates = _unsupervised_scores(spark, ids, {True: 0.99, False: 0.01})
    missed = [(min(ids[f"p{i}"], ids[f"d{i}"]), max(ids[f"p{i}"], ids[f"d{i}"])) for i in range(6)]
    without_six = candidates.join(spark.createDataFrame(missed, "id_l long, id_r long"), ["id_l", "id_r"], "left_anti")

    choice = choose_scoring(_labels(spark, CHOICE_LABELS), records, PROFILES, without_six, 0.5)

    # Both recall 6 of the 12 matches, precision 1: F1 2/3 each, and the tie keeps unsupervised.
    two_thirds = pytest.approx(2 / 3)
    assert choice == ModelChoice(
        UNSUPERVISED, (), len(CHOICE_LABELS), two_thirds, two_thirds, two_thirds, NONE_RIGHT_ALONE
    )


# ------------------------------------------------------------------------------- find matches

CLEAN_LABELS = [(f"p{i}", f"d{i}", True) for i in range(6)] + [(f"p{i}", f"p{i + 1}", False) for i in range(20, 26)]


def _groups(matched: DataFrame) -> set[frozenset[str]]:
    members: dict[int, set[str]] = {}
    for row in matched.select("key", MATCH_ID).collect():
        members.setdefault(row[MATCH_ID], set()).add(row.key)
    return {frozenset(group) for group in members.values()}


def test_enforce_labels_adds_labeled_matches_and_removes_labeled_non_matches(spark: SparkSession) -> None:
    records = spark.createDataFrame([(0, k) for k in "abcd"], f"{SOURCE} int, key string")
    ids = {row.key: row[RECORD_ID] for row in with_record_id(records, "key").collect()}
    edges = spark.createDataFrame(
        [(min(ids["a"], ids["b"]), max(ids["a"], ids["b"])), (min(ids["c"], ids["d"]), max(ids["c"], ids["d"]))],
        "id_l long, id_r long",
    )
    labels = _labels(spark, [("b", "a", False), ("a", "c", True), ("a", "zz", True)])
    got = {
        tuple(sorted((row.id_l, row.id_r)))
        for row in enforce_labels(edges, labels, with_record_id(records, "key")).collect()
    }
    assert got == {tuple(sorted((ids["c"], ids["d"]))), tuple(sorted((ids["a"], ids["c"])))}


def test_find_matches_groups_duplicates_and_gives_singletons_their_own_id(spark: SparkSession) -> None:
    records = _people(spark).drop(RECORD_ID)
    parameters = {"PrimaryKeyColumnName": "key"}
    matched = find_matches(records, parameters, False, _labels(spark, CLEAN_LABELS), True, RunReport())
    assert matched.count() == 42
    assert set(matched.columns) == {"key", "given", "surname", "dob", MATCH_ID}
    expected = {frozenset({f"p{i}", f"d{i}"}) for i in range(12)} | {frozenset({f"p{i}"}) for i in range(12, 30)}
    assert _groups(matched) == expected


def _together(matched: DataFrame, first: str, second: str) -> bool:
    ids = {row.key: row[MATCH_ID] for row in matched.where(F.col("key").isin(first, second)).collect()}
    return ids[first] == ids[second]


def test_find_matches_enforce_provided_labels_lets_labels_win(spark: SparkSession) -> None:
    records = _people(spark).drop(RECORD_ID)
    # Against the evidence, among enough sound labels to train well: p8 and d8 are apart, p28
    # and p29 are one person.
    sound = [(f"p{i}", f"d{i}", True) for i in range(12) if i != 8] + [
        (f"p{i}", f"p{i + 1}", False) for i in range(12, 27)
    ]
    labels = _labels(spark, [*sound, ("p8", "d8", False), ("p28", "p29", True)])
    trusted = find_matches(records, {"PrimaryKeyColumnName": "key"}, False, labels, True, RunReport())
    enforced = find_matches(
        records, {"PrimaryKeyColumnName": "key", "EnforceProvidedLabels": True}, False, labels, True, RunReport()
    )
    assert _together(trusted, "p8", "d8") and not _together(trusted, "p28", "p29")
    assert not _together(enforced, "p8", "d8") and _together(enforced, "p28", "p29")
    assert _together(enforced, "p9", "d9")


# --------------------------------------------------------------------------------- evaluation


def test_find_matches_metrics_against_a_hand_computed_confusion_matrix() -> None:
    # At 0.5: TP = 0.9, 0.8, 0.6; FP = 0.7; FN = 0.4; TN = 0.3, 0.2, 0.1.
    scored = [
        (0.9, True),
        (0.8, True),
        (0.7, False),
        (0.6, True),
        (0.4, True),
        (0.3, False),
        (0.2, False),
        (0.1, False),
    ]
    metrics = find_matches_metrics(scored, 0.5, {"name": 0.75, "city": 0.25})
    assert metrics["ConfusionMatrix"] == {
        "NumTruePositives": 3,
        "NumFalsePositives": 1,
        "NumTrueNegatives": 3,
        "NumFalseNegatives": 1,
    }
    assert metrics["Precision"] == pytest.approx(3 / 4)
    assert metrics["Recall"] == pytest.approx(3 / 4)
    assert metrics["F1"] == pytest.approx(3 / 4)
    # Average precision: each match adds 1/4 recall at the precision of its rank: 1/1, 2/2, 3/4, 4/5.
    assert metrics["AreaUnderPRCurve"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 5) / 4)
    assert metrics["ColumnImportances"] == [
        {"ColumnName": "name", "Importance": 0.75},
        {"ColumnName": "city", "Importance": 0.25},
    ]


def test_area_under_pr_curve_takes_tied_scores_together() -> None:
    # One threshold holds a match and a non-match: precision 1/2 over the whole recall.
    assert area_under_pr_curve([(0.5, True), (0.5, False)]) == pytest.approx(0.5)
    assert area_under_pr_curve([(0.5, False)]) == 0.0
    metrics = find_matches_metrics([(0.1, False)], 0.5, {})
    assert (metrics["Precision"], metrics["Recall"], metrics["F1"]) == (0.0, 0.0, 0.0)


def test_a_held_out_pair_blocking_does_not_propose_scores_zero(spark: SparkSession) -> None:
    people = _people(spark)
    ids = _ids(people)

    def pair(a: str, b: str, score: float) -> tuple[int, int, float]:
        return min(ids[a], ids[b]), max(ids[a], ids[b]), score

    candidates = [pair("p1", "d1", 0.9), pair("p3", "p4", 0.7), pair("p6", "p7", 0.2)]  # p6/p7 unlabeled
    scored = spark.createDataFrame(candidates, "id_l long, id_r long, match_score double")
    # p2/d2 is no candidate pair; zz is not in the input, so p5/zz is not evaluated at all.
    labels = _labels(spark, [("p1", "d1", True), ("p2", "d2", True), ("p3", "p4", False), ("p5", "zz", True)])
    got = held_out_scores(labels, scored, people)
    expected = spark.createDataFrame([(0.9, True), (0.0, True), (0.7, False)], "match_score double, is_match boolean")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    # At 0.5: p1/d1 found, p2/d2 missed by blocking (a false negative), p3/p4 a false positive.
    metrics = find_matches_metrics([(r.match_score, r.is_match) for r in got.collect()], 0.5, {})
    assert metrics["ConfusionMatrix"] == {
        "NumTruePositives": 1,
        "NumFalsePositives": 1,
        "NumTrueNegatives": 0,
        "NumFalseNegatives": 1,
    }


def test_the_held_out_split_is_deterministic_and_about_a_quarter() -> None:
    pairs = [(0, f"k{i}", 0, f"k{i + 1}") for i in range(2000)]
    held = [is_held_out(*pair) for pair in pairs]
    assert held == [is_held_out(*pair) for pair in pairs]
    assert 0.2 < sum(held) / len(held) < 0.3
    only_matches = [
        {"left_source": 0, "left_key": f"k{i}", "right_source": 0, "right_key": f"m{i}", "is_match": True}
        for i in range(40)
    ]
    with pytest.raises(InputDataError, match="lacks a matching or a non-matching pair"):
        split_labels(only_matches)


@pytest.fixture
def people_service(spark: SparkSession, settings: Settings, tmp_path: Path) -> GlueLabelingService:
    """A service over the 42 people of _people as catalog table learn.people (key `key`)."""
    location = str(tmp_path / "people")
    _people(spark).drop(RECORD_ID, SOURCE).write.parquet(location)
    service = GlueLabelingService(settings, launcher=InProcessLauncher())
    service.catalog.register(spark, "learn", "people", location, "parquet")
    return service


def _store_labels(service: GlueLabelingService, transform_id: str, pairs: list[tuple[str, str, bool]]) -> None:
    rows = [
        {
            "left_source": 0,
            "left_key": min(a, b),
            "right_source": 0,
            "right_key": max(a, b),
            "is_match": match,
            "labeling_set_id": f"set-{n:03d}",
            "left_label": "A",
            "right_label": "A" if match else "B",
            "label_file": "test.csv",
            "imported_by_task_run": "tsk-test",
            "imported_on": dt.datetime.now(dt.timezone.utc),
        }
        for n, (a, b, match) in enumerate(pairs)
    ]
    service.labels(transform_id).replace_all(pa.Table.from_pylist(rows, schema=LABELS_SCHEMA))


def _ready_transform(service: GlueLabelingService, labels: list[tuple[str, str, bool]]) -> str:
    transform_id = _create_transform(service)
    _store_labels(service, transform_id, labels)
    return transform_id


def _create_transform(service: GlueLabelingService, table: str = "people") -> str:
    return service.create_ml_transform(
        {
            "Name": table,
            "InputRecordTables": [{"DatabaseName": "learn", "TableName": table}],
            "Parameters": {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": "key"}},
            "Role": "local",
        }
    )["TransformId"]


def _labeling_set_run(
    spark: SparkSession, service: GlueLabelingService, transform_id: str, tmp_path: Path
) -> tuple[str, dict[str, Any]]:
    """A labeling-set generation run of the transform into tmp_path/sets: its id and run report."""
    output = f"file://{tmp_path / 'sets'}"
    task_run_id = service.start_ml_labeling_set_generation_task_run(
        {"TransformId": transform_id, "OutputS3Path": output}
    )["TaskRunId"]
    assert run_job(spark, service.settings, task_run_id) == 0
    return task_run_id, json.loads(service.ledger.get(task_run_id)["run_report"])


def test_evaluation_needs_a_ready_transform_then_fills_evaluation_metrics(
    spark: SparkSession, people_service: GlueLabelingService
) -> None:
    service = people_service
    transform_id = _create_transform(service)
    with pytest.raises(MLTransformNotReadyException):
        service.start_ml_evaluation_task_run({"TransformId": transform_id})
    labels = [(f"p{i}", f"d{i}", True) for i in range(12)] + [(f"p{i}", f"p{i + 1}", False) for i in range(12, 29)]
    _store_labels(service, transform_id, labels)
    held_out = [(a, b, m) for a, b, m in labels if is_held_out(0, min(a, b), 0, max(a, b))]
    task_run_id = service.start_ml_evaluation_task_run({"TransformId": transform_id})["TaskRunId"]
    assert run_job(spark, service.settings, task_run_id) == 0
    run = service.get_ml_task_run({"TransformId": transform_id, "TaskRunId": task_run_id})
    assert (run["Status"], run["Properties"]) == ("SUCCEEDED", {"TaskType": "EVALUATION"})
    transform = service.get_ml_transform({"TransformId": transform_id})
    metrics = transform["EvaluationMetrics"]["FindMatchesMetrics"]
    confusion = metrics["ConfusionMatrix"]
    assert confusion["NumTruePositives"] + confusion["NumFalseNegatives"] == sum(m for _, _, m in held_out)
    assert sum(confusion.values()) == len(held_out)
    assert metrics["F1"] == pytest.approx(1.0)
    assert {c["ColumnName"] for c in metrics["ColumnImportances"]} == set(COLUMNS)
    # The figures are those of the model the training labels choose, as FindMatches would.
    report = json.loads(service.ledger.get(task_run_id)["run_report"])
    assert report["evaluated_model"] == report["model"]["chosen"]
    assert report["held_out_labels"] == len(held_out)
    assert report["training_labels"] == len(labels) - len(held_out)


def test_a_ready_transform_s_labeling_set_is_scored_by_the_better_model_and_skips_labeled_records(
    spark: SparkSession, people_service: GlueLabelingService, tmp_path: Path
) -> None:
    service = people_service
    transform_id = _ready_transform(service, CLEAN_LABELS)
    task_run_id, report = _labeling_set_run(spark, service, transform_id, tmp_path)
    # Both models are measured on every labeled pair, held out of the classifier's training by
    # fold; on these clean typo copies the unsupervised model is already perfect, and a tie
    # keeps it (choose_model: the classifier must beat it).
    held_out_f1 = report["model"]["held_out_f1"]
    assert report["model"]["held_out_pairs"] == len(CLEAN_LABELS)
    assert held_out_f1 == {UNSUPERVISED: 1.0, CLASSIFIER: 1.0, "combined": 1.0}
    assert report["model"]["chosen"] == UNSUPERVISED
    # Blocking learned from the same labels: the report says what they cover.
    assert report["blocking_rules_learned"]["labeled_matches"] == sum(m for _, _, m in CLEAN_LABELS)
    shown = {row.key for row in spark.read.option("header", "true").csv(f"{tmp_path / 'sets'}/{task_run_id}").collect()}
    assert shown
    assert not shown & {key for a, b, _ in CLEAN_LABELS for key in (a, b)}


def test_labels_that_contradict_the_unsupervised_model_hand_the_labeling_set_to_the_classifier(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    # A stricter labeler than the model: a surname typo is another person. The unsupervised model
    # calls the 12 typo copies matches (name and date of birth agree), the labels say they are
    # not; exact copies e<i> of p12..p23 are matches for both. Only a classifier can learn that.
    people = _people(spark).drop(RECORD_ID, SOURCE)
    copies = people.where(F.col("key").isin([f"p{i}" for i in range(12, 24)])).withColumn(
        "key", F.regexp_replace("key", "p", "e")
    )
    location = str(tmp_path / "strict")
    people.unionByName(copies).write.parquet(location)
    service = GlueLabelingService(settings, launcher=InProcessLauncher())
    service.catalog.register(spark, "learn", "strict", location, "parquet")
    # Not every typo copy and exact copy is labeled: the unlabeled ones are left to ask about.
    labels = [(f"d{i}", f"p{i}", False) for i in range(8)] + [(f"e{i}", f"p{i}", True) for i in range(12, 18)]
    transform_id = _create_transform(service, "strict")
    _store_labels(service, transform_id, labels)
    task_run_id, report = _labeling_set_run(spark, service, transform_id, tmp_path)
    model = report["model"]
    assert model["chosen"] == CLASSIFIER
    # The typo copies are what the unsupervised model is sure are matches: the labels overrule it
    # in that region.
    assert SURE_MATCH in model["classifier_decides"]
    assert model["held_out_f1"]["combined"] > model["held_out_f1"][UNSUPERVISED]
    assert model["training_pairs"] == len(labels)
    importances = model["column_importances"]
    assert max(importances, key=importances.get) == "surname"  # what the labels are about
    # The classifier also looked for matches blocking misses, and the sets skip labeled records.
    assert "probe" in report["stage_seconds"] and report["probe_pairs"] >= 0
    shown = {row.key for row in spark.read.option("header", "true").csv(f"{tmp_path / 'sets'}/{task_run_id}").collect()}
    assert shown
    assert not shown & {key for a, b, _ in labels for key in (a, b)}


def test_the_find_matches_job_writes_the_input_with_match_id(
    spark: SparkSession, people_service: GlueLabelingService, tmp_path: Path
) -> None:
    service = people_service
    transform_id = _ready_transform(service, CLEAN_LABELS)
    output = tmp_path / "matched"
    assert run_transform(spark, service.settings, transform_id, f"file://{output}") == 12
    matched = spark.read.parquet(str(output))
    assert set(matched.columns) == {"key", "given", "surname", "dob", MATCH_ID}
    assert _together(matched, "p7", "d7") and not _together(matched, "p7", "p8")
