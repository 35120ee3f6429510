"""Score, supervised: a classifier trained on the transform's labeled pairs, which decides the
candidate pairs in the regions of the unsupervised Fellegi-Sunter score where held-out labels
show it better (choose_scoring), once the transform has enough labels (the READY rule).

Why logistic regression (Spark ML) over the similarity features and one-hot comparison levels:
  * it gives calibrated probabilities, so `match_score` keeps its meaning (the match threshold
    of PrecisionRecallTradeoff and "uncertain = near the threshold" both read it as a probability);
  * the first rounds give tens of labeled pairs: a linear model with L2 regularisation has few
    enough degrees of freedom not to memorise them, where trees would;
  * the features are monotone evidence (more similar = more likely a match) plus the levels the
    unsupervised model uses, so a linear boundary over them is what Fellegi-Sunter is too, with
    weights learned from answers instead of EM (dedupe's learner is the same choice).

Labeled pairs are featurized from the records themselves (with_features), not looked up among
the candidate pairs: a labeled pair that blocking does not produce still teaches, and both get
the very same features.
"""

from __future__ import annotations

import dataclasses
import functools

from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.labels.metrics import (
    FOLDS,
    RECORD_SEPARATOR,
    SOURCE_SEPARATOR,
    SURE_MATCH,
    SURE_NON_MATCH,
    UNSURE,
    ModelChoice,
    choose_model,
)
from glue_labeling.pipeline import RECORD_ID
from glue_labeling.pipeline.block import ColumnProfile
from glue_labeling.pipeline.fellegi_sunter import LEVELS, level_column, with_levels
from glue_labeling.pipeline.score import PairFeatures, distance_column, with_features

FEATURES = "_gl_features"
LABEL = "_gl_label"
PROBABILITY = "_gl_probability"
# L2 strength: enough to keep weights finite on the perfectly separable labels a first round
# often gives (an unregularised fit drives them to infinity: probabilities of exactly 0 and 1).
REGULARIZATION = 0.01
LEVEL_VALUES = tuple(range(-1, len(LEVELS)))  # -1: null on either side
# The unsupervised match probabilities below which the model is sure of a non-match and above
# which of a match: the bounds of glue_labeling.labels.metrics.REGIONS.
SURE_BELOW, SURE_ABOVE = 0.01, 0.99
UNSUPERVISED_SCORE = "_gl_unsupervised_score"
# Once a classifier is trained, the score of the model that does not decide a pair: where the two
# disagree, a label settles which is right (sample.py asks about such pairs).
RIVAL_SCORE = "rival_score"
# Alongside RIVAL_SCORE: whether the classifier decides the pair, so the unsupervised model's
# score, whose regions choose_model judges, can be told from the classifier's.
CLASSIFIER_DECIDES = "classifier_decides"


RECORD_COLUMNS = ("left_source", "left_key", "right_source", "right_key")
FOLD = "_gl_fold"


def labeled_pair_ids(labels: DataFrame) -> DataFrame:
    """Stored labels (left_source, left_key, right_source, right_key, is_match, and any other
    column, kept) -> (id_l, id_r, is_match, ...) with the record ids of with_record_id, oriented
    as compare.compared_candidates orients pairs: table 0 left of table 1, else the smaller id left."""
    left = F.xxhash64(F.col("left_source").cast("int"), F.col("left_key"))
    right = F.xxhash64(F.col("right_source").cast("int"), F.col("right_key"))
    crossing = F.col("left_source") != F.col("right_source")
    return labels.select(
        F.when(crossing, left).otherwise(F.least(left, right)).alias("id_l"),
        F.when(crossing, right).otherwise(F.greatest(left, right)).alias("id_r"),
        *[name for name in labels.columns if name not in RECORD_COLUMNS],
    )


def labeled_pairs_within(labels: DataFrame, records: DataFrame) -> DataFrame:
    """labeled_pair_ids of the stored `labels` whose two records are both in `records` (with
    `_gl_id`): labels outlive the input they were made on, and may come from another frame."""
    present = records.select(F.col(RECORD_ID).alias("id"))
    return (
        labeled_pair_ids(labels)
        .join(present.withColumnRenamed("id", "id_l"), "id_l", "left_semi")
        .join(present.withColumnRenamed("id", "id_r"), "id_r", "left_semi")
    )


def with_label_fold(labels: DataFrame) -> DataFrame:
    """Stored labels with FOLD: glue_labeling.labels.metrics.label_fold, computed by Spark."""
    left = F.concat_ws(SOURCE_SEPARATOR, F.col("left_source").cast("string"), "left_key")
    right = F.concat_ws(SOURCE_SEPARATOR, F.col("right_source").cast("string"), "right_key")
    pair = F.concat_ws(RECORD_SEPARATOR, left, right)
    return labels.withColumn(FOLD, (F.crc32(pair.cast("binary")) % FOLDS).cast("int"))


def labeled_records(labels: DataFrame) -> set[int]:
    """The record ids of every labeled pair."""
    ids = labeled_pair_ids(labels)
    rows = ids.select(F.col("id_l").alias("id")).union(ids.select("id_r")).distinct().collect()
    return {row.id for row in rows}


def feature_vector(features: PairFeatures) -> tuple[Column, list[int]]:
    """The pair's feature vector and, per entry, the compared column it describes. Every entry
    is a similarity in [0, 1], 0 where null (the level one-hot's -1 entry says it was null): a
    scaled distance d enters as 1 / (1 + d), so that null, 0, cannot read as "identical"."""
    values: list[Column] = []
    owners: list[int] = []
    for i, name in features.columns():
        value = 1.0 / (1.0 + F.col(name)) if name == distance_column(i) else F.col(name)
        values.append(F.coalesce(value, F.lit(0.0)).cast("double"))
        owners.append(i)
    for i in range(features.column_count):
        for level in LEVEL_VALUES:
            values.append((F.col(level_column(i)) == level).cast("double"))
            owners.append(i)
    return array_to_vector(F.array(*values)), owners


def featured_pairs(pairs: DataFrame, records: DataFrame, features: PairFeatures) -> DataFrame:
    """(id_l, id_r, rule, features, levels) for pairs (id_l, id_r, rule) of `records`."""
    return with_levels(with_features(pairs, records, features), features.column_count)


def labeled_features(labels: DataFrame, records: DataFrame, features: PairFeatures) -> DataFrame:
    """The labeled pairs whose records are both in `records`, featurized, with `is_match`."""
    ids = labeled_pair_ids(labels)
    featured = featured_pairs(ids.select("id_l", "id_r", F.lit(-1).alias("rule")), records, features)
    return featured.join(ids, ["id_l", "id_r"])


@dataclasses.dataclass(frozen=True)
class PairClassifier:
    model: LogisticRegressionModel
    features: PairFeatures
    training_pairs: int

    def with_match_score(self, featured: DataFrame) -> DataFrame:
        """`featured` with `match_score`, the model's match probability (replacing any earlier)."""
        vector, _owners = feature_vector(self.features)
        predicted = self.model.transform(featured.drop("match_score").withColumn(FEATURES, vector))
        return predicted.withColumn("match_score", vector_to_array(F.col(PROBABILITY))[1]).drop(
            FEATURES, PROBABILITY, self.model.getRawPredictionCol(), self.model.getPredictionCol()
        )

    def column_importances(self, names: list[str]) -> dict[str, float]:
        """Each compared column's share of the model's total absolute weight (features are
        standardised by the fit, so weights compare across features)."""
        _vector, owners = feature_vector(self.features)
        weights = [0.0] * self.features.column_count
        for owner, coefficient in zip(owners, self.model.coefficients.toArray(), strict=True):
            weights[owner] += abs(float(coefficient))
        total = sum(weights) or 1.0
        return {name: weight / total for name, weight in zip(names, weights, strict=True)}

    def describe(self, names: list[str]) -> dict[str, object]:
        return {
            "classifier": "logistic regression",
            "training_pairs": self.training_pairs,
            "column_importances": {name: round(share, 4) for name, share in self.column_importances(names).items()},
        }


def train(training: DataFrame, features: PairFeatures) -> PairClassifier:
    """Fit on featurized labeled pairs (`is_match`)."""
    vector, _owners = feature_vector(features)
    examples = training.select(vector.alias(FEATURES), F.col("is_match").cast("double").alias(LABEL)).cache()
    learner = LogisticRegression(
        featuresCol=FEATURES,
        labelCol=LABEL,
        probabilityCol=PROBABILITY,
        rawPredictionCol="_gl_raw_prediction",
        predictionCol="_gl_prediction",
        regParam=REGULARIZATION,
        maxIter=100,
    )
    model = learner.fit(examples)
    count = examples.count()
    examples.unpersist()
    return PairClassifier(model, features, count)


def score_region(unsupervised_score: Column) -> Column:
    """The region (glue_labeling.labels.metrics.REGIONS) of an unsupervised match probability."""
    return (
        F.when(unsupervised_score < SURE_BELOW, F.lit(SURE_NON_MATCH))
        .when(unsupervised_score > SURE_ABOVE, F.lit(SURE_MATCH))
        .otherwise(F.lit(UNSURE))
    )


def with_classifier_in(scored: DataFrame, regions: tuple[str, ...]) -> DataFrame:
    """`scored` (the classifier's `match_score` and the unsupervised model's UNSUPERVISED_SCORE)
    with `match_score` the classifier's where the unsupervised score lies in `regions`, else the
    unsupervised model's (choose_model says why and where), RIVAL_SCORE the other model's and
    CLASSIFIER_DECIDES which of the two `match_score` is."""
    unsupervised = F.col(UNSUPERVISED_SCORE)
    classifier_decides = score_region(unsupervised).isin(list(regions))
    return scored.withColumns(
        {
            "match_score": F.when(classifier_decides, F.col("match_score")).otherwise(unsupervised),
            RIVAL_SCORE: F.when(classifier_decides, unsupervised).otherwise(F.col("match_score")),
            CLASSIFIER_DECIDES: classifier_decides,
        }
    )


def unsupervised_score() -> Column:
    """The unsupervised model's score, on pairs scored by with_classifier_in."""
    return F.when(F.col(CLASSIFIER_DECIDES), F.col(RIVAL_SCORE)).otherwise(F.col("match_score"))


def score_supervised(
    unsupervised: DataFrame,
    records: DataFrame,
    profiles: list[ColumnProfile],
    labels: DataFrame,
    regions: tuple[str, ...],
) -> tuple[DataFrame, PairClassifier]:
    """The candidate pairs `unsupervised` (id_l, id_r, rule, match_score: the unsupervised
    model's), featurized (featured_pairs), with `match_score` the classifier's where the
    unsupervised score lies in `regions`, RIVAL_SCORE the other model's and CLASSIFIER_DECIDES (with_classifier_in;
    `regions` may be empty: the classifier then only gives its rival opinion), and the
    classifier trained on `labels` (the stored labeled pairs)."""
    features = PairFeatures.of(profiles)
    classifier = train(labeled_features(labels, records, features), features)
    pairs = unsupervised.select("id_l", "id_r", "rule", F.col("match_score").alias(UNSUPERVISED_SCORE))
    # Checkpointed before scoring: the optimizer's constraint propagation through the feature and
    # level projections, then the classifier's, took minutes of planning on FEBRL3 uncut.
    featured = featured_pairs(pairs, records, features).localCheckpoint()
    scored = with_classifier_in(classifier.with_match_score(featured), regions)
    return scored.drop(UNSUPERVISED_SCORE), classifier


def choose_scoring(
    labels: DataFrame, records: DataFrame, profiles: list[ColumnProfile], unsupervised: DataFrame, threshold: float
) -> ModelChoice:
    """Where the classifier trained on `labels` decides instead of the unsupervised model, whose
    scored candidate pairs are `unsupervised` (id_l, id_r, match_score): choose_model, on the
    labeled pairs.

    Every labeled pair is held out once, by k-fold on the folds of glue_labeling.labels.metrics
    (fold 0 is the evaluation's held-out share): FOLDS classifiers, each trained on the other
    folds' labels, score their fold. The labels of a first round are a few hundred pairs; one
    held-out quarter would judge the two models on a handful of matches. The unsupervised model
    never saw a label, so its score of every labeled pair is held out already. A labeled pair
    that blocking does not propose scores 0 under both models: FindMatches scores candidate
    pairs only, so neither would join it."""
    features = PairFeatures.of(profiles)
    labeled = labeled_features(with_label_fold(labels), records, features).cache()

    def fold_scored(fold: int) -> DataFrame:
        classifier = train(labeled.where(F.col(FOLD) != fold), features)
        held_out = classifier.with_match_score(labeled.where(F.col(FOLD) == fold))
        return held_out.select("id_l", "id_r", "is_match", "match_score")

    out_of_fold = functools.reduce(DataFrame.unionByName, [fold_scored(fold) for fold in range(FOLDS)])
    candidates = unsupervised.select(
        "id_l", "id_r", F.col("match_score").alias(UNSUPERVISED_SCORE), F.lit(True).alias("candidate")
    )
    # A labeled pair that is not a candidate: FindMatches never joins it, so both score it 0.
    proposed = F.col("candidate").isNotNull()
    held_out = (
        out_of_fold.join(candidates, ["id_l", "id_r"], "left")
        .withColumn(UNSUPERVISED_SCORE, F.when(proposed, F.col(UNSUPERVISED_SCORE)).otherwise(0.0))
        .withColumn("match_score", F.when(proposed, F.col("match_score")).otherwise(0.0))
        .select(score_region(F.col(UNSUPERVISED_SCORE)).alias("region"), UNSUPERVISED_SCORE, "match_score", "is_match")
    )
    rows = held_out.collect()
    labeled.unpersist()
    return choose_model(
        [(row.region, row[UNSUPERVISED_SCORE], row.match_score, row.is_match) for row in rows], threshold
    )
