"""The unsupervised score: a Fellegi-Sunter model fitted by expectation-maximisation, as Splink
and fastLink do, with term-frequency adjustment for common values.

Each column of a pair falls into a comparison level (null on either side: the column says
nothing; else exact, close, similar or different by Jaro-Winkler). A level has an m
probability (how often true matches land there) and a u probability (how often non-matches
do); the pair's match weight is the prior log-odds plus the sum of log2(m/u) over its columns.

  * u for the exact level is computed, not sampled: the share of all record pairs that agree on
    the column is the blocking stage's exact pair count over all pairs.
  * u for the other levels comes from a random sample of record pairs (nearly all non-matches).
  * m and the match prior are fitted by EM on the candidate pairs, grouped by blocking rule and
    comparison vector first, so the iterations run on a few thousand distinct vectors in the
    driver, not on millions of pairs in Spark. Each rule has its own prior and its own u
    (shrunk towards the sampled u): a rule finds its non-matches by making them agree on its
    key and on whatever the key implies. An email built from the names makes every non-match
    in an email block agree on the names; with one u for all pairs, those agreements look
    like evidence, and at 1M generated records EM called 94% of the candidates matches (the
    email rule's 3.5M non-matches became the "match" class).
  * Where blocking expects more than EM_SAMPLE_PAIRS candidate pairs, EM is fitted on those of
    a share of the blocks (em_sample_share): the pairs are not kept but compared again when
    they are scored, so a fit on all of them would compare every pair twice.
  * A pair is scored as EM saw it: with the prior and u of the rule that found it. Scored with
    the overall prior and the sampled u instead, two strangers at one address weighed every
    correlated address column (street, suburb, postcode, state) as separate evidence, and the
    address rule's strangers scored up to 0.999: precision 0.9925 on 100,000 generated
    records, against 1.0 scored per rule (FEBRL3 0.9992 against 1.0, FEBRL4 0.9996 against 1.0).
  * Term frequencies: agreeing on a common value ("john", "smith") is weaker evidence than on
    a rare one, so for skewed columns the exact level's u becomes the value's own frequency
    (scaled by the rule's exact u over the sampled one).
    Two records agree exactly only on a value at least two records hold, so only the values
    held by three or more are counted (term_frequencies); any other value a pair agrees on is
    held by exactly two.

The score is the match probability, 1 / (1 + 2**-weight).
"""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
from py4j.java_gateway import JavaObject
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ByteType, DoubleType, IntegerType, LongType, StructField, StructType

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import ColumnProfile, RuleCost
from glue_labeling.pipeline.jvm import first_partitions, jvm_call, jvm_frame, register_jvm_functions
from glue_labeling.pipeline.load import InputDataError
from glue_labeling.pipeline.normalize import comparison_column
from glue_labeling.pipeline.score import jaro_winkler, pair_side, similarity_column
from glue_labeling.spark import driver_pandas

# Jaro-Winkler bounds of the "close" and "similar" levels (Splink's defaults for names).
CLOSE = 0.92
SIMILAR = 0.80
LEVELS = ("different", "similar", "close", "exact")  # level numbers 0..3; -1 is null
EXACT = 3
EM_MAX_ITERATIONS = 100
EM_TOLERANCE = 1e-6
# Pseudo-pairs of the sampled u that each rule's own u starts from (fit_m_and_priors).
RULE_U_PSEUDO_PAIRS = 1000.0
# A value this many times more frequent than the column's average gets a term-frequency
# adjusted weight; below it the column's average u is accurate enough.
SKEW_FOR_TERM_FREQUENCY = 10.0
# Pairs among 600 sampled records: ~180,000 comparisons for the u probabilities.
RANDOM_SAMPLE_RECORDS = 600
RANDOM_SAMPLE_SEED = 7
_PROBABILITY_FLOOR = 1e-6
# The candidate pairs EM is fitted on, about: at 1M generated records (5.8M pairs, 16 partitions
# of blocks), one partition's.
EM_SAMPLE_PAIRS = 500_000


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
    """`featured` (with_features) with each column's comparison level."""
    return featured.select(
        "*", *[comparison_level(F.col(similarity_column(i))).alias(level_column(i)) for i in range(column_count)]
    )


def pair_levels(joined: DataFrame, column_count: int) -> DataFrame:
    """(id_l, id_r, rule, `_gl_lvl<i>` as bytes) of pairs that carry both records' compared
    columns as `<name>_l`, `<name>_r`: the levels compare.compared_candidates makes in the JVM
    for the candidates, here for pairs that are not candidates (the random sample of u)."""
    register_jvm_functions(joined.sparkSession)
    compared = [comparison_column(i) for i in range(column_count)]
    levels = [
        comparison_level(jaro_winkler(F.col(f"{c}_l"), F.col(f"{c}_r"))).cast("byte").alias(level_column(i))
        for i, c in enumerate(compared)
    ]
    return joined.select("id_l", "id_r", "rule", *levels)


# Values held by fewer records are not listed in the term frequencies (term_frequencies): a
# value two records agree on is held by at least two, so an unlisted one by exactly two.
LISTED_VALUE_MIN_RECORDS = 3
UNLISTED_VALUE_RECORDS = 2


def term_frequency_key(index: int) -> Column:
    """A 64-bit key of column `index`'s normalized value (null where the value is): the column
    is hashed in, so one table holds every column's values."""
    value = comparison_column(index)
    return F.when(F.col(value).isNotNull(), F.xxhash64(F.lit(index), value))


@dataclasses.dataclass(frozen=True)
class TermFrequencies:
    """The values of the term-frequency columns three or more records hold, counted, in the JVM
    (TermFrequencies.java): compare.block_members looks each record's values up as it ships the
    record to its blocks, and the record carries, per column, the share of that column's
    non-null values equal to its own (`term_frequency_column`), where that matters: a value not
    listed gets the share of UNLISTED_VALUE_RECORDS, which is exact for every value an exact
    agreement can be on (a unique value agrees with nothing)."""

    columns: tuple[int, ...]
    table: JavaObject  # TermFrequencies.java: the listed values and each column's non-null values

    def carried(self) -> tuple[str, ...]:
        """The names of the shares a record carries, in `columns` order."""
        return tuple(term_frequency_column(i) for i in self.columns)

    def key_names(self) -> tuple[str, ...]:
        """The names of key_columns."""
        return tuple(f"{name}_key" for name in self.carried())

    def key_columns(self) -> list[Column]:
        """Each column's term_frequency_key, named as key_names says."""
        return [term_frequency_key(i).alias(name) for i, name in zip(self.columns, self.key_names(), strict=True)]


def term_frequencies(records: DataFrame, non_null_counts: dict[int, int]) -> TermFrequencies:
    """The TermFrequencies of the columns in `non_null_counts` (column -> its non-null values):
    one aggregation counts every column's values by their keys and the JVM holds those with
    LISTED_VALUE_MIN_RECORDS or more. Listing every value instead broadcast a table of each
    column's distinct values: at 1M generated person records, 7 columns among them the
    near-unique phone, email and address, that took 12 s."""
    spark = records.sparkSession
    if not non_null_counts:
        return TermFrequencies((), spark._jvm.io.gluelabeling.TermFrequencies.none())
    listed = (
        records.select(F.explode(F.array(*[term_frequency_key(i) for i in non_null_counts])).alias("value"))
        .where(F.col("value").isNotNull())
        .groupBy("value")
        .agg(F.count(F.lit(1)).alias("records"))
        .where(F.col("records") >= LISTED_VALUE_MIN_RECORDS)
    )
    non_null = spark._sc._gateway.new_array(spark._jvm.double, len(non_null_counts))
    for position, count in enumerate(non_null_counts.values()):
        non_null[position] = float(max(count, 1))
    table = jvm_call(listed, "io.gluelabeling.TermFrequencies", "listed", non_null, float(UNLISTED_VALUE_RECORDS))
    return TermFrequencies(tuple(non_null_counts), table)


@dataclasses.dataclass(frozen=True)
class FellegiSunterModel:
    m: np.ndarray  # (columns, levels)
    u: np.ndarray  # (columns, levels), of the population: random record pairs
    prior: float  # share of matches among the candidate pairs
    iterations: int
    term_frequency_columns: tuple[int, ...] = ()
    rule_priors: dict[int, float] = dataclasses.field(default_factory=dict)  # rule -> its share of matches
    rule_u: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)  # rule -> u among its pairs
    columns_fixed_by_rule: dict[int, tuple[int, ...]] = dataclasses.field(default_factory=dict)

    def weights(self) -> np.ndarray:
        return np.log2(self.m / self.u)

    def describe(self, names: list[str], rule_names: list[str]) -> dict[str, object]:
        weights = self.weights()
        return {
            "prior": round(self.prior, 6),
            "prior_per_rule": {rule_names[rule]: round(p, 6) for rule, p in self.rule_priors.items()},
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

    def with_match_score(self, pairs: DataFrame, column_count: int) -> DataFrame:
        """(id_l, id_r, rule, match_score) of `pairs` (id_l, id_r, rule, `_gl_lvl<i>` and, for
        the term-frequency columns, the left record's `_gl_tf<i>_l`): the match probability
        1 / (1 + 2**-weight) of each pair's match weight under the model of the rule that found
        it, that rule's prior and u, over the levels EM saw (observed_levels); a pair of a rule
        the model has not seen gets the population's, the overall prior and u. For a
        term-frequency column agreeing exactly, the value's own frequency replaces the exact
        level's u, scaled as the rule's exact u is to the population's. Added up in the JVM
        (MatchWeights.java) from the weights `match_weights` packs."""
        spark = pairs.sparkSession
        weights = spark._jvm.io.gluelabeling.MatchWeights.of(bytearray(self.match_weights(column_count)))
        carried = [f"{term_frequency_column(i)}_l" for i in self.term_frequency_columns]
        rows = pairs.select(
            F.col("id_l").cast("long"),
            F.col("id_r").cast("long"),
            F.col("rule").cast("int"),
            *[F.col(level_column(i)).cast("byte") for i in range(column_count)],
            *[F.col(name).cast("double") for name in carried],
        )
        return jvm_frame(
            rows,
            "io.gluelabeling.MatchWeights",
            "scores",
            StructType(
                [
                    StructField("id_l", LongType()),
                    StructField("id_r", LongType()),
                    StructField("rule", IntegerType()),
                    StructField("match_score", DoubleType()),
                ]
            ),
            weights,
            len(carried),
        )

    def match_weights(self, column_count: int) -> bytes:
        """The weights with_match_score adds up, packed as MatchWeights.of reads them. Row 0 of
        the tables is the population, row r + 1 the r-th rule of the sorted `rule_priors`; a
        weight per column and level from -1 (null or unobserved: 0) to EXACT, log2(m / u)."""
        rules = sorted(self.rule_priors)
        priors = [self.prior, *[self.rule_priors[rule] for rule in rules]]
        u_tables = [self.u, *[self.rule_u[rule] for rule in rules]]
        slots = max([*rules, *self.columns_fixed_by_rule], default=-1) + 1
        ints = [column_count, len(priors), slots]
        ints += [rules.index(rule) + 1 if rule in self.rule_priors else 0 for rule in range(slots)]
        carried = list(self.term_frequency_columns)
        ints += [carried.index(i) if i in carried else -1 for i in range(column_count)]
        ints += fixed_columns_packed(self.columns_fixed_by_rule)
        doubles = [math.log2(p / (1.0 - p)) for p in priors]
        doubles += [
            weight
            for u in u_tables
            for i in range(column_count)
            for weight in (0.0, *[math.log2(self.m[i, k] / u[i, k]) for k in range(len(LEVELS))])
        ]
        doubles += [float(self.m[i, EXACT]) for i in range(column_count)]
        doubles += [u[i, EXACT] / self.u[i, EXACT] for u in u_tables for i in range(column_count)]
        doubles.append(_PROBABILITY_FLOOR)
        return struct.pack(f">{len(ints)}i{len(doubles)}d", *ints, *doubles)


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


@dataclasses.dataclass(frozen=True)
class ComparisonVectors:
    """The candidate pairs grouped: one row per distinct (rule, comparison vector)."""

    rules: np.ndarray  # (vectors,) the rule that found the pairs
    levels: np.ndarray  # (vectors, columns) level numbers, -1 where unobserved
    counts: np.ndarray  # (vectors,) pairs


def fixed_columns_packed(columns_fixed_by_rule: dict[int, tuple[int, ...]]) -> list[int]:
    """The exact rules as ObservedLevels.java reads them: their count, then each as its rule,
    its column count and its columns."""
    packed = [len(columns_fixed_by_rule)]
    for rule, columns in columns_fixed_by_rule.items():
        packed += [rule, len(columns), *columns]
    return packed


def observed_levels(
    levels: DataFrame, column_count: int, columns_fixed_by_rule: dict[int, tuple[int, ...]]
) -> DataFrame:
    """(rule, `_gl_lvl<i>`) of each pair of `levels` with its levels as the model reads them
    (ObservedLevels.java, which MatchWeights.java scores with too). A pair found by an exact
    rule agrees on that rule's columns because blocking chose it so, whether it matches or not;
    left in, those agreements make the blocked non-matches look like matches. So a column
    counts as unobserved (-1) when every exact rule the pair agrees on fixes it, as Splink does
    by not training a column's m from the blocking rule that fixes it. A pair that agrees on
    both its phone and its email keeps both: each rule alone would have found it, so neither
    agreement was needed to make it a candidate."""
    spark = levels.sparkSession
    packed = fixed_columns_packed(columns_fixed_by_rule)
    observed = spark._jvm.io.gluelabeling.ObservedLevels.of(
        bytearray(struct.pack(f">{len(packed)}i", *packed)), column_count
    )
    names = [level_column(i) for i in range(column_count)]
    return jvm_frame(
        levels.select(F.col("rule").cast("int"), *[F.col(name).cast("byte") for name in names]),
        "io.gluelabeling.ObservedLevels",
        "levels",
        StructType([StructField("rule", IntegerType()), *[StructField(name, ByteType()) for name in names]]),
        observed,
        column_count,
    )


def comparison_vectors(
    levels: DataFrame, column_count: int, columns_fixed_by_rule: dict[int, tuple[int, ...]]
) -> ComparisonVectors:
    """The candidate pairs' `levels` grouped by rule and observed_levels."""
    names = [level_column(i) for i in range(column_count)]
    vectors = driver_pandas(
        observed_levels(levels, column_count, columns_fixed_by_rule).groupBy("rule", *names).count()
    )
    return ComparisonVectors(
        vectors["rule"].to_numpy(dtype=int),
        vectors[names].to_numpy(dtype=int).reshape(len(vectors), column_count),
        vectors["count"].to_numpy(dtype=float),
    )


@dataclasses.dataclass(frozen=True)
class ExpectationMaximisation:
    m: np.ndarray  # (columns, levels)
    rule_priors: dict[int, float]  # rule -> share of matches among the pairs it found
    rule_u: dict[int, np.ndarray]  # rule -> u among the pairs it found
    prior: float  # share of matches among all candidate pairs
    iterations: int


def fit_m_and_priors(
    vectors: ComparisonVectors, u: np.ndarray, rule_u_pseudo_pairs: float = RULE_U_PSEUDO_PAIRS
) -> ExpectationMaximisation:
    """EM for m (shared by every rule), each rule's prior and each rule's u, which starts from
    the sampled `u` worth `rule_u_pseudo_pairs` pairs: a rule with few pairs keeps the
    population's u, a rule with millions learns what its own non-matches look like."""
    columns, level_count = u.shape
    rule_index, per_vector_rule = np.unique(vectors.rules, return_inverse=True)
    per_vector_rule = per_vector_rule.ravel()
    rule_count = len(rule_index)
    counts = vectors.counts
    pairs_per_rule = np.bincount(per_vector_rule, weights=counts, minlength=rule_count)
    present = vectors.levels >= 0
    safe = np.where(present, vectors.levels, 0)
    one_hot = (safe[:, :, None] == np.arange(level_count)[None, None, :]) & present[:, :, None]
    column = np.arange(columns)[None, :]
    # Start from "matches mostly agree exactly": EM converges to the match class from there.
    m = np.tile(np.array([0.05, 0.05, 0.1, 0.8]), (columns, 1))
    rule_u = np.repeat(u[None, :, :], rule_count, axis=0)
    priors = np.full(rule_count, 0.1)
    iterations = EM_MAX_ITERATIONS
    for iteration in range(1, EM_MAX_ITERATIONS + 1):
        log_m = np.where(present, np.log(m[column, safe]), 0.0).sum(axis=1)
        log_u = np.where(present, np.log(rule_u[per_vector_rule[:, None], column, safe]), 0.0).sum(axis=1)
        prior_of_vector = priors[per_vector_rule]
        log_odds = np.log(prior_of_vector / (1.0 - prior_of_vector)) + log_m - log_u
        responsibility = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        matched = responsibility * counts
        unmatched = counts - matched
        new_priors = np.clip(
            np.bincount(per_vector_rule, weights=matched, minlength=rule_count) / pairs_per_rule,
            _PROBABILITY_FLOOR,
            1.0 - _PROBABILITY_FLOOR,
        )
        level_mass = (one_hot * matched[:, None, None]).sum(axis=0) + _PROBABILITY_FLOOR
        new_m = level_mass / level_mass.sum(axis=1, keepdims=True)
        for rule in range(rule_count):
            of_rule = per_vector_rule == rule
            mass = (one_hot[of_rule] * unmatched[of_rule, None, None]).sum(axis=0) + rule_u_pseudo_pairs * u
            rule_u[rule] = mass / mass.sum(axis=1, keepdims=True)
        change = max(float(np.abs(new_priors - priors).max()), float(np.abs(new_m - m).max()))
        m, priors = new_m, new_priors
        if change < EM_TOLERANCE:
            iterations = iteration
            break
    prior = float((priors * pairs_per_rule).sum() / pairs_per_rule.sum())
    return ExpectationMaximisation(
        m,
        {int(rule): float(p) for rule, p in zip(rule_index, priors, strict=True)},
        {int(rule): rule_u[position] for position, rule in enumerate(rule_index)},
        prior,
        iterations,
    )


def term_frequency_columns(single_column_costs: dict[int, RuleCost], profiles: list[ColumnProfile]) -> list[int]:
    """Skewed columns: the most frequent value far above the column's average count."""
    return [
        p.index
        for p in profiles
        if (cost := single_column_costs.get(p.index)) is not None
        and p.distinct > 1
        and cost.largest_block * p.distinct >= SKEW_FOR_TERM_FREQUENCY * (cost.keyed_left + cost.keyed_right)
    ]


def random_pairs(
    records: DataFrame, column_count: int, linkage: bool, sample_records: int = RANDOM_SAMPLE_RECORDS
) -> DataFrame:
    """(id_l, id_r, rule=-1, both records' compared columns as `<name>_l`, `<name>_r`): every
    pair among a hash-chosen sample of records (of each table, when linking), for the u
    probabilities. Hash order rather than rand(), so the same input gives the same model. The
    sampled records bring their columns along: joining 180,000 pairs back to the records
    shuffled all of them twice (5 s of the score stage at 1M records)."""
    order = F.xxhash64(F.col(RECORD_ID), F.lit(RANDOM_SAMPLE_SEED))
    compared = tuple(comparison_column(i) for i in range(column_count))

    def sample(source: int | None) -> DataFrame:
        # Checkpointed: both sides of a dedup cross join are the same sample, chosen once.
        chosen = records if source is None else records.where(F.col(SOURCE) == source)
        return chosen.orderBy(order).limit(sample_records).select(RECORD_ID, *compared).localCheckpoint()

    left, right = (sample(0), sample(1)) if linkage else (sample(None),) * 2
    # The left side spread over the task slots: in the one partition a limit leaves, the pairs
    # were compared by one task while the other cores waited (0.7-1.1 s at 1M records, two cores).
    left = left.repartition(records.sparkSession.sparkContext.defaultParallelism)
    pairs = pair_side(left, compared, "l").crossJoin(pair_side(right, compared, "r"))
    if not linkage:
        pairs = pairs.where(F.col("id_l") < F.col("id_r"))
    return pairs.withColumn("rule", F.lit(-1))


def em_sample_share(expected_pairs: int) -> float:
    """The share of the blocks whose candidate pairs EM is fitted on, when blocking expects
    `expected_pairs` (block.BlockingPlan.expected_pairs)."""
    return min(1.0, EM_SAMPLE_PAIRS / max(expected_pairs, 1))


def sampled_comparison_vectors(
    levels: DataFrame, column_count: int, columns_fixed_by_rule: dict[int, tuple[int, ...]], share: float
) -> ComparisonVectors:
    """comparison_vectors of the pairs in the first `share` of `levels`' partitions, or of all
    of them when those held none (blocking's estimate was far off, or the pairs all fell in
    other blocks): no pair in the sample is not no pair at all."""
    vectors = comparison_vectors(first_partitions(levels, share), column_count, columns_fixed_by_rule)
    if vectors.counts.size or share >= 1.0:
        return vectors
    return comparison_vectors(levels, column_count, columns_fixed_by_rule)


def fit(
    vectors: ComparisonVectors,
    random_levels: DataFrame,
    column_count: int,
    columns_fixed_by_rule: dict[int, tuple[int, ...]],
    exact_shares: dict[int, float],
    term_frequency: list[int],
) -> FellegiSunterModel:
    """The model fitted on the candidate pairs' `vectors`, with u from the `random_levels`."""
    if not vectors.counts.size:
        raise InputDataError("blocking found no candidate pairs: there is nothing to ask about")
    u = u_probabilities(level_shares(random_levels, column_count), exact_shares)
    fitted = fit_m_and_priors(vectors, u)
    return FellegiSunterModel(
        fitted.m,
        u,
        fitted.prior,
        fitted.iterations,
        tuple(term_frequency),
        fitted.rule_priors,
        fitted.rule_u,
        columns_fixed_by_rule,
    )


def records_term_frequencies(
    records: DataFrame, profiles: list[ColumnProfile], single_column_costs: dict[int, RuleCost], rows: int
) -> TermFrequencies:
    """The term frequencies of the skewed columns (term_frequency_columns): what a pair carries
    of its left record for the score."""
    frequent = term_frequency_columns(single_column_costs, profiles)
    return term_frequencies(records, {i: round(profiles[i].non_null_ratio * rows) for i in frequent})


def score_unsupervised(
    levels: DataFrame,
    records: DataFrame,
    profiles: list[ColumnProfile],
    single_column_costs: dict[int, RuleCost],
    columns_fixed_by_rule: dict[int, tuple[int, ...]],
    linkage: bool,
    em_share: float = 1.0,
) -> tuple[DataFrame, FellegiSunterModel]:
    """The candidate pairs' `levels` (compare.compared_candidates, with the left record's term
    frequencies of records_term_frequencies) with `match_score`, and the model fitted on
    the pairs of the first `em_share` of their partitions (em_sample_share).
    `columns_fixed_by_rule`: rule -> the columns its exact key makes agree."""
    column_count = len(profiles)
    frequent = term_frequency_columns(single_column_costs, profiles)
    sampled = pair_levels(random_pairs(records, column_count, linkage), column_count)
    exact_shares = {index: cost.agreement_share(linkage) for index, cost in single_column_costs.items()}
    vectors = sampled_comparison_vectors(levels, column_count, columns_fixed_by_rule, em_share)
    model = fit(vectors, sampled, column_count, columns_fixed_by_rule, exact_shares, frequent)
    return model.with_match_score(levels, column_count), model
