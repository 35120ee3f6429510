"""The unsupervised score: a Fellegi-Sunter model fitted by expectation-maximisation, as Splink
and fastLink do, with term-frequency adjustment for common values.

Each column of a pair falls into a comparison level (null on either side: the column says
nothing; else exact, close, similar or different by Jaro-Winkler). A level has an m
probability (how often true matches land there) and a u probability (how often non-matches
do); the pair's match weight is the prior log-odds plus the sum of log2(m/u) over its columns.

  * u for the exact level is computed, not sampled: the share of all record pairs that agree on
    the column is the blocking stage's exact pair count over all pairs.
  * u for the other levels comes from a random sample of record pairs (nearly all non-matches).
  * m and the match prior are fitted by EM on the candidate pairs, grouped by comparison
    vector first, so the iterations run on a few thousand distinct vectors in the driver, not
    on millions of pairs in Spark.
  * Term frequencies: agreeing on a common value ("john", "smith") is weaker evidence than on
    a rare one, so for skewed columns the exact level's u becomes the value's own frequency.

The score is the match probability, 1 / (1 + 2**-weight).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import ColumnProfile, RuleCost
from glue_labeling.pipeline.normalize import comparison_column
from glue_labeling.pipeline.score import BROADCAST_RECORDS_MAX, similarity_column, with_features

# Jaro-Winkler bounds of the "close" and "similar" levels (Splink's defaults for names).
CLOSE = 0.92
SIMILAR = 0.80
LEVELS = ("different", "similar", "close", "exact")  # level numbers 0..3; -1 is null
EXACT = 3
EM_MAX_ITERATIONS = 100
EM_TOLERANCE = 1e-6
# A value this many times more frequent than the column's average gets a term-frequency
# adjusted weight; below it the column's average u is accurate enough.
SKEW_FOR_TERM_FREQUENCY = 10.0
# Pairs among 600 sampled records: ~180,000 comparisons for the u probabilities.
RANDOM_SAMPLE_RECORDS = 600
RANDOM_SAMPLE_SEED = 7
_PROBABILITY_FLOOR = 1e-6
# Columns with at least this share of multi-word values get the word-Jaccard feature.
MULTI_WORD_RATIO = 0.05


def level_column(index: int) -> str:
    return f"_gl_lvl{index}"


def term_frequency_column(index: int) -> str:
    return f"_gl_tf{index}"


def comparison_level(similarity: Column) -> Column:
    return (
        F.when(similarity.isNull(), -1)
        .when(similarity >= 1.0, EXACT)
        .when(similarity >= CLOSE, 2)
        .when(similarity >= SIMILAR, 1)
        .otherwise(0)
    )


def with_levels(featured: DataFrame, column_count: int) -> DataFrame:
    return featured.select(
        "*", *[comparison_level(F.col(similarity_column(i))).alias(level_column(i)) for i in range(column_count)]
    )


def with_term_frequencies(records: DataFrame, non_null_counts: dict[int, int]) -> DataFrame:
    """Adds `_gl_tf<i>` for each column in `non_null_counts` (column -> its non-null values):
    the share of those values equal to this record's. Each column's value counts reach the
    records through a broadcast (a column has at most as many distinct values as there are
    records), so the records are not shuffled once per column, as a window over each value
    would shuffle them."""
    result = records
    for index, non_null in non_null_counts.items():
        value = comparison_column(index)
        frequencies = (
            records.where(F.col(value).isNotNull())
            .groupBy(value)
            .agg((F.count(F.lit(1)) / max(non_null, 1)).alias(term_frequency_column(index)))
        )
        result = result.join(F.broadcast(frequencies), value, "left").select(
            *result.columns, term_frequency_column(index)
        )
    return result


@dataclasses.dataclass(frozen=True)
class FellegiSunterModel:
    m: np.ndarray  # (columns, levels)
    u: np.ndarray  # (columns, levels)
    prior: float  # share of matches among the candidate pairs
    iterations: int
    term_frequency_columns: tuple[int, ...] = ()

    def weights(self) -> np.ndarray:
        return np.log2(self.m / self.u)

    def describe(self, names: list[str]) -> dict[str, object]:
        weights = self.weights()
        return {
            "prior": round(self.prior, 6),
            "em_iterations": self.iterations,
            "term_frequency_columns": [names[i] for i in self.term_frequency_columns],
            "match_weights": {
                name: {level: round(float(weights[i, k]), 2) for k, level in enumerate(LEVELS)}
                for i, name in enumerate(names)
            },
        }

    def column_importances(self, names: list[str]) -> dict[str, float]:
        """Each compared column's share of the total span of match weights (its weight at its
        most telling level less its weight at its least): how far the column can move a pair's
        log-odds, the unsupervised counterpart of PairClassifier.column_importances."""
        weights = self.weights()
        spans = [float(np.ptp(weights[i])) for i in range(len(names))]
        total = sum(spans) or 1.0
        return {name: span / total for name, span in zip(names, spans, strict=True)}

    def match_probability(self, column_count: int) -> Column:
        """The pair's match probability, from its `_gl_lvl<i>` (and, for term-frequency
        columns, both sides' `_gl_tf<i>`)."""
        weights = self.weights()
        total: Column = F.lit(math.log2(self.prior / (1.0 - self.prior)))
        for i in range(column_count):
            level = F.col(level_column(i))
            contribution = F.lit(0.0)
            for k in reversed(range(len(LEVELS))):
                contribution = F.when(level == k, F.lit(float(weights[i, k]))).otherwise(contribution)
            if i in self.term_frequency_columns:
                frequency = F.greatest(F.col(f"{term_frequency_column(i)}_l"), F.lit(_PROBABILITY_FLOOR))
                exact_weight = F.log2(F.lit(float(self.m[i, EXACT])) / frequency)
                contribution = F.when(level == EXACT, exact_weight).otherwise(contribution)
            total = total + contribution
        return 1.0 / (1.0 + F.pow(F.lit(2.0), -total))


def level_shares(levels: DataFrame, column_count: int) -> np.ndarray:
    """(columns, levels): the share of each level among each column's non-null comparisons."""
    aggregates = [
        F.count(F.when(F.col(level_column(i)) == k, 1)).alias(f"c{i}_{k}")
        for i in range(column_count)
        for k in range(len(LEVELS))
    ]
    row = levels.agg(*aggregates).first()
    counts = np.array([[row[f"c{i}_{k}"] for k in range(len(LEVELS))] for i in range(column_count)], dtype=float)
    # Add-one smoothing: a level never seen in the sample is rare, not impossible.
    return (counts + 1.0) / (counts.sum(axis=1, keepdims=True) + len(LEVELS))


def u_probabilities(sampled_shares: np.ndarray, exact_shares: dict[int, float]) -> np.ndarray:
    """u from the random sample, with the exact level replaced by its computed share where known
    and the other levels rescaled to fill the rest."""
    u = sampled_shares.copy()
    for index, share in exact_shares.items():
        share = min(max(share, _PROBABILITY_FLOOR), 1.0 - _PROBABILITY_FLOOR)
        rest = u[index, :EXACT].sum()
        u[index, :EXACT] = u[index, :EXACT] / rest * (1.0 - share)
        u[index, EXACT] = share
    return u


def comparison_vectors(
    levels: DataFrame, column_count: int, columns_fixed_by_rule: dict[int, tuple[int, ...]]
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct comparison vectors among the pairs, (vectors, columns), and their counts.

    A pair found by an exact rule agrees on that rule's columns because blocking chose it so,
    whether it matches or not; left in, those agreements make the blocked non-matches look like
    matches and EM drifts to "everything matches". So for EM they count as unobserved (-1), as
    Splink does by not training a column's m from the blocking rule that fixes it."""
    masked = []
    for i in range(column_count):
        fixing = [rule for rule, columns in columns_fixed_by_rule.items() if i in columns]
        level = F.col(level_column(i))
        masked.append(
            (F.when(F.col("rule").isin(fixing), -1).otherwise(level) if fixing else level).alias(level_column(i))
        )
    rows = levels.select(*masked).groupBy(*[level_column(i) for i in range(column_count)]).count().collect()
    vectors = np.array([[row[level_column(i)] for i in range(column_count)] for row in rows], dtype=int)
    counts = np.array([row["count"] for row in rows], dtype=float)
    return vectors.reshape(len(rows), column_count), counts


def fit_m_and_prior(
    vectors: np.ndarray, counts: np.ndarray, u: np.ndarray, initial_prior: float = 0.1
) -> tuple[np.ndarray, float, int]:
    """EM for m and the prior with u held fixed (u from random pairs is the reliable half)."""
    columns, level_count = u.shape
    # Start from "matches mostly agree exactly": EM converges to the match class from there.
    m = np.tile(np.array([0.05, 0.05, 0.1, 0.8]), (columns, 1))
    prior = initial_prior
    present = vectors >= 0
    safe = np.where(present, vectors, 0)
    one_hot = (safe[:, :, None] == np.arange(level_count)[None, None, :]) & present[:, :, None]
    for iteration in range(1, EM_MAX_ITERATIONS + 1):
        log_m = np.where(present, np.log(m[np.arange(columns)[None, :], safe]), 0.0).sum(axis=1)
        log_u = np.where(present, np.log(u[np.arange(columns)[None, :], safe]), 0.0).sum(axis=1)
        log_odds = math.log(prior / (1.0 - prior)) + log_m - log_u
        responsibility = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        weighted = responsibility * counts
        new_prior = float(weighted.sum() / counts.sum())
        level_mass = (one_hot * weighted[:, None, None]).sum(axis=0)
        smoothed = level_mass + _PROBABILITY_FLOOR
        new_m = smoothed / smoothed.sum(axis=1, keepdims=True)
        change = max(abs(new_prior - prior), float(np.abs(new_m - m).max()))
        m, prior = new_m, min(max(new_prior, _PROBABILITY_FLOOR), 1.0 - _PROBABILITY_FLOOR)
        if change < EM_TOLERANCE:
            return m, prior, iteration
    return m, prior, EM_MAX_ITERATIONS


def term_frequency_columns(single_column_costs: dict[int, RuleCost], profiles: list[ColumnProfile]) -> list[int]:
    """Skewed columns: the most frequent value far above the column's average count."""
    return [
        p.index
        for p in profiles
        if (cost := single_column_costs.get(p.index)) is not None
        and p.distinct > 1
        and cost.largest_block * p.distinct >= SKEW_FOR_TERM_FREQUENCY * (cost.keyed_left + cost.keyed_right)
    ]


def random_pairs(records: DataFrame, linkage: bool, sample_records: int = RANDOM_SAMPLE_RECORDS) -> DataFrame:
    """(id_l, id_r, rule=-1): every pair among a hash-chosen sample of records (of each table,
    when linking), for the u probabilities. Hash order rather than rand(), so the same input
    gives the same model."""
    order = F.xxhash64(F.col(RECORD_ID), F.lit(RANDOM_SAMPLE_SEED))

    def sample(source: int | None) -> DataFrame:
        chosen = records if source is None else records.where(F.col(SOURCE) == source)
        return chosen.orderBy(order).limit(sample_records).select(RECORD_ID)

    left, right = (sample(0), sample(1)) if linkage else (sample(None), sample(None))
    pairs = left.toDF("id_l").crossJoin(right.toDF("id_r"))
    if not linkage:
        pairs = pairs.where(F.col("id_l") < F.col("id_r"))
    return pairs.withColumn("rule", F.lit(-1))


def fit(
    candidate_levels: DataFrame,
    random_levels: DataFrame,
    column_count: int,
    columns_fixed_by_rule: dict[int, tuple[int, ...]],
    exact_shares: dict[int, float],
    term_frequency: list[int],
) -> FellegiSunterModel:
    u = u_probabilities(level_shares(random_levels, column_count), exact_shares)
    vectors, counts = comparison_vectors(candidate_levels, column_count, columns_fixed_by_rule)
    m, prior, iterations = fit_m_and_prior(vectors, counts, u)
    return FellegiSunterModel(m, u, prior, iterations, tuple(term_frequency))


def multi_word_columns(profiles: list[ColumnProfile]) -> frozenset[int]:
    """The columns that get the word-Jaccard feature."""
    return frozenset(p.index for p in profiles if p.multi_word_ratio >= MULTI_WORD_RATIO)


def score_unsupervised(
    pairs: DataFrame,
    records: DataFrame,
    profiles: list[ColumnProfile],
    single_column_costs: dict[int, RuleCost],
    columns_fixed_by_rule: dict[int, tuple[int, ...]],
    rows: int,
    linkage: bool,
) -> tuple[DataFrame, FellegiSunterModel]:
    """Candidate pairs (id_l, id_r, rule) with features, levels and `match_score` (features
    checkpointed), and the model. `columns_fixed_by_rule`: rule -> the columns its exact key
    makes agree."""
    column_count = len(profiles)
    frequent = term_frequency_columns(single_column_costs, profiles)
    with_frequencies = with_term_frequencies(records, {i: round(profiles[i].non_null_ratio * rows) for i in frequent})
    carried = tuple(term_frequency_column(i) for i in frequent)
    multi_word = multi_word_columns(profiles)
    numeric_scales = {p.index: p.numeric_scale for p in profiles if p.numeric_scale is not None}
    broadcast = rows <= BROADCAST_RECORDS_MAX
    featured = with_levels(
        with_features(pairs, with_frequencies, column_count, carried, multi_word, numeric_scales, broadcast),
        column_count,
    )
    featured = featured.localCheckpoint()
    sampled = with_levels(
        with_features(random_pairs(records, linkage), records, column_count, broadcast_records=broadcast), column_count
    )
    exact_shares = {index: cost.agreement_share(linkage) for index, cost in single_column_costs.items()}
    model = fit(featured, sampled, column_count, columns_fixed_by_rule, exact_shares, frequent)
    return featured.withColumn("match_score", model.match_probability(column_count)), model
