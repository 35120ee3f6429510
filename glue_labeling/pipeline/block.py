"""Block: the blocking rules, chosen and measured on the data; compare.py makes the candidate
pairs they find, each pair kept under the first rule that finds it (as Splink attributes pairs).

A rule gives every record a key (null when it cannot say); two records are candidates when
their keys are equal. Keys are 64-bit hashes, so blocks are counted and joined on 8 bytes. Two
kinds of rule:
  * exact rules: the normalized value of one column, or of a pair of columns;
  * MinHash bands (minhash.py): records whose character 3-grams overlap with Jaccard
    similarity J share a band with probability about J**r (r = 4 up to 100k records, wider as
    the table grows: minhash_band_width), so duplicates with a typo in every column still
    meet, while unrelated records almost never do.

Default rules come from the data, so a transform works with no tuning. Every candidate rule's
cost is measured in one aggregation over its keys (the pairs a block of n records yields:
n(n-1)/2, or n0*n1 across two tables) and a rule is kept only if it adds at most a budget of
pairs per record; AccuracyCostTradeoff scales that budget and the number of columns paired and
of MinHash bands. Blocks larger than `max_block_size` are dropped from their rule and reported:
they are the skew that would make cost grow with the square of the table.

Above PLAN_SAMPLE_RECORDS records the costs are measured on a hash-chosen share of the records
and scaled up (planning_share): a rule's cost only decides whether it fits the budget, and a
sample of 100,000s of records estimates it to a few percent. The blocks dropped as oversized
are still exact: every block the sample shows anywhere near the cap is counted on all records.
"""

from __future__ import annotations

import dataclasses
import math
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.jvm import jvm_call, within_task_results
from glue_labeling.pipeline.literals import column_in
from glue_labeling.pipeline.minhash import BAND_KEYS, MIN_BAND_WIDTH
from glue_labeling.pipeline.normalize import comparison_column, numeric_column

DEFAULT_MAX_BLOCK_SIZE = 500
# Columns null in more rows than this cannot carry a rule.
MIN_NON_NULL_RATIO = 0.3
# Candidate pairs a rule may add per input record at AccuracyCostTradeoff 0.5; the budget
# doubles towards 1.0 (accuracy) and halves towards 0.0 (cost).
PAIRS_PER_RECORD_BUDGET = 4.0
# A rule whose oversized blocks hold more than this share of its records is dropped.
MAX_OVERSIZED_SHARE = 0.5
KEY_SEPARATOR = "\u001f"
# Planning measures the candidate rules on all records up to this many, and above it on a
# hash-chosen share of them, never less than PLAN_SAMPLE_MIN_SHARE (planning_share). Measuring
# every candidate rule (16 at first, then the column pairs) on all of 1M generated person
# records took 18 s of a 120 s run. There, 100,000 of them chose the same rules as 200,000,
# every rule's pairs within 6% but one far below the budget (address, 2.6M against 1.9M), and
# planning took 3.0 and 4.4 s against 4.3 and 7.0 s (each twice, alternating, in one JVM).
PLAN_SAMPLE_RECORDS = 100_000
PLAN_SAMPLE_MIN_SHARE = 0.1
PLAN_SAMPLE_SEED = 11
# A sampled block this share of the cap (scaled to the sample) or larger is counted on all
# records, to see whether it is oversized: a block just over the cap of 500 shows at least 25 of
# its records in a 10% sample with probability 1 - 1e-4.
OVERSIZED_CHECK_MARGIN = 0.5


@dataclasses.dataclass(frozen=True)
class ColumnProfile:
    index: int
    name: str
    distinct: int
    non_null_ratio: float
    multi_word_ratio: float  # share of the non-null values holding more than one word
    numeric_scale: float | None  # standard deviation of a number or date column (dates in days)


@dataclasses.dataclass(frozen=True)
class ExactRule:
    """Records meet when every listed column is present and equal after normalization."""

    name: str
    columns: tuple[int, ...]

    def key(self) -> Column:
        """A 64-bit hash of the values: blocks are joined and counted on 8 bytes, not on the
        text (xxhash64 chains its arguments, so "ab","c" and "a","bc" differ)."""
        parts = [F.col(comparison_column(i)) for i in self.columns]
        # Hashing skips nulls, so require every part explicitly.
        present = reduce(lambda a, b: a & b, [part.isNotNull() for part in parts])
        return F.when(present, F.xxhash64(*parts))

    def readable_key(self) -> Column:
        return F.concat_ws(KEY_SEPARATOR, *[F.col(comparison_column(i)) for i in self.columns])


@dataclasses.dataclass(frozen=True)
class MinHashBandRule:
    """Records meet when their MinHash band keys (minhash.py) agree for this band."""

    name: str
    band: int

    def key(self) -> Column:
        return F.col(BAND_KEYS)[self.band]

    def readable_key(self) -> Column:
        return self.key().cast("string")


BlockingRule = ExactRule | MinHashBandRule


@dataclasses.dataclass(frozen=True)
class RuleCost:
    """What one rule costs on this data: pairs before and after dropping oversized blocks
    (estimated from a sample above PLAN_SAMPLE_RECORDS records, planning_share)."""

    rule: int
    pairs: int
    pairs_capped: int
    largest_block: int
    oversized_blocks: int
    records_in_oversized: int
    keyed_left: int  # records of table 0 (all records when deduplicating) with a key
    keyed_right: int  # records of table 1 with a key

    def within(self, budget: float) -> bool:
        """Worth keeping: it finds pairs, no more than the budget once oversized blocks are
        dropped, and most of its records are not in oversized blocks (a rule on a state or a
        gender column is all giant blocks: what is left of it after the cap is noise)."""
        keyed = self.keyed_left + self.keyed_right
        return 0 < self.pairs_capped <= budget and self.records_in_oversized <= MAX_OVERSIZED_SHARE * keyed

    def agreement_share(self, linkage: bool) -> float:
        """The share of all pairs of keyed records that share a key (uncapped)."""
        all_pairs = self.keyed_left * self.keyed_right if linkage else self.keyed_left * (self.keyed_left - 1) / 2
        return self.pairs / all_pairs if all_pairs else 0.0


def profile_columns(records: DataFrame, columns: list[str]) -> list[ColumnProfile]:
    aggregates = []
    for i in range(len(columns)):
        column = F.col(comparison_column(i))
        aggregates += [
            F.count(column).alias(f"c{i}"),
            F.count(F.when(F.instr(column, " ") > 0, 1)).alias(f"w{i}"),
        ]
        if numeric_column(i) in records.columns:
            aggregates.append(F.stddev(numeric_column(i)).alias(f"s{i}"))
    row = records.agg(F.count(F.lit(1)).alias("rows"), *aggregates).first().asDict()
    distinct = distinct_counts(records, len(columns))
    rows = max(row["rows"], 1)
    return [
        ColumnProfile(
            i,
            name,
            distinct[i],
            row[f"c{i}"] / rows,
            row[f"w{i}"] / max(row[f"c{i}"], 1),
            # A constant or single-valued column has no spread: distances in raw units.
            (row[f"s{i}"] or 1.0) if f"s{i}" in row else None,
        )
        for i, name in enumerate(columns)
    ]


def distinct_counts(records: DataFrame, column_count: int) -> list[int]:
    """Each compared column's distinct values, estimated to about 1% (DistinctCounts.java)."""
    values = records.select(*[comparison_column(i) for i in range(column_count)])
    task_bytes = records.sparkSession._jvm.io.gluelabeling.DistinctCounts.bytesPerTask(column_count)
    return list(
        jvm_call(within_task_results(values, task_bytes), "io.gluelabeling.DistinctCounts", "estimate", column_count)
    )


def usable_columns(profiles: list[ColumnProfile]) -> list[ColumnProfile]:
    """Columns that can carry a rule, most informative first."""
    usable = [p for p in profiles if p.non_null_ratio >= MIN_NON_NULL_RATIO and p.distinct > 1]
    return sorted(usable, key=lambda p: p.distinct * p.non_null_ratio, reverse=True)


def pair_budget(rows: int, accuracy_cost_tradeoff: float) -> float:
    return rows * PAIRS_PER_RECORD_BUDGET * 4 ** (accuracy_cost_tradeoff - 0.5)


def single_column_rules(profiles: list[ColumnProfile]) -> list[ExactRule]:
    return [ExactRule(f"exact:{p.name}", (p.index,)) for p in usable_columns(profiles)]


def column_pair_rules(
    profiles: list[ColumnProfile], excluded: set[int], accuracy_cost_tradeoff: float
) -> list[ExactRule]:
    """Every pair of the most informative columns not already blocked on alone: two records
    meet if any two of them agree, so typos or gaps in all the others still leave a rule."""
    width = 3 + round(2 * accuracy_cost_tradeoff)  # 3 columns at 0.0, 4 at 0.5, 5 at 1.0
    top = [p for p in usable_columns(profiles) if p.index not in excluded][:width]
    return [
        ExactRule(f"exact:{first.name}+{second.name}", (first.index, second.index))
        for position, first in enumerate(top)
        for second in top[position + 1 :]
    ]


def minhash_bands(accuracy_cost_tradeoff: float) -> int:
    """4 bands at 0.0, 6 at 0.5, 8 at 1.0. With 6 bands of 4 hashes, records whose 3-gram sets
    have Jaccard similarity 0.7 meet with probability 1-(1-0.7**4)**6 = 0.81, at 0.5 with 0.32,
    at 0.2 with 0.01."""
    return 4 + round(4 * accuracy_cost_tradeoff)


def minhash_band_width(rows: int) -> int:
    """Values per band: MIN_BAND_WIDTH up to 100k records, four more per tenfold growth.
    Unrelated records that happen to share many 3-grams meet in a band with a probability that
    does not shrink as the table grows, so their pairs grow with its square while the pair
    budget grows with its size: tenfold the records, a hundredfold the chance pairs, so a band
    must get about ten times more selective. Measured on 1M generated person records, 6 bands:
    6 values per band gave 4.57M stranger pairs and 417k true ones, 8 values 1.11M and 395k
    (each value halves the strangers, and costs about 2.5% of the duplicates the bands find)."""
    return MIN_BAND_WIDTH + max(0, round(4 * math.log10(max(rows, 1) / 100_000)))


def minhash_band_rules(bands: int) -> list[MinHashBandRule]:
    return [MinHashBandRule(f"minhash:band{band}", band) for band in range(bands)]


def fuzzy_text_columns(profiles: list[ColumnProfile], rows: int) -> list[int]:
    """Columns whose 3-grams feed the MinHash signature. Low-cardinality columns (a state, a
    gender) are left out: every record shares their grams, which would only make unrelated
    records look alike."""
    return [p.index for p in usable_columns(profiles) if p.distinct * p.distinct >= rows]


@dataclasses.dataclass(frozen=True)
class OversizedBlock:
    """A block dropped from its rule for being larger than the cap."""

    rule: int  # index in BlockingPlan.rules
    key: int  # the rule's key hash
    value: str  # what the key hashes, as people read it: the normalized value(s), or the band key


@dataclasses.dataclass(frozen=True)
class BlockingPlan:
    """The rules chosen for this data, in order, and what every rule considered would cost."""

    rules: list[BlockingRule]
    considered: list[tuple[BlockingRule, RuleCost, bool]]  # (rule, cost, kept)
    oversized: list[OversizedBlock]

    def columns_fixed_by_rule(self) -> dict[int, tuple[int, ...]]:
        """Rule index -> the columns its exact key makes every pair it finds agree on."""
        return {i: rule.columns for i, rule in enumerate(self.rules) if isinstance(rule, ExactRule)}

    def single_column_costs(self) -> dict[int, RuleCost]:
        """The measured cost of the exact rule on each column alone, kept or not."""
        return {
            rule.columns[0]: cost
            for rule, cost, _kept in self.considered
            if isinstance(rule, ExactRule) and len(rule.columns) == 1
        }

    def expected_pairs(self) -> int:
        """The candidate pairs the kept rules were measured to make, a pair that several rules
        find counted under each (so more than blocking keeps, which counts it once)."""
        return sum(cost.pairs_capped for _rule, cost, kept in self.considered if kept)

    def oversized_keys(self) -> list[tuple[int, int]]:
        return [(block.rule, block.key) for block in self.oversized]

    def oversized_report(self, limit: int | None = None) -> list[dict[str, str]]:
        """The first `limit` (all: None) dropped blocks as the run report lists them."""
        return [{"rule": self.rules[block.rule].name, "key": block.value} for block in self.oversized[:limit]]

    def report(self) -> list[dict[str, object]]:
        return [
            {"rule": rule.name, "kept": kept, **{k: v for k, v in vars(cost).items() if k != "rule"}}
            for rule, cost, kept in self.considered
        ]


def planning_share(rows: int) -> float:
    """The share of the records the candidate rules are measured on."""
    return 1.0 if rows <= PLAN_SAMPLE_RECORDS else max(PLAN_SAMPLE_RECORDS / rows, PLAN_SAMPLE_MIN_SHARE)


def hash_sample(records: DataFrame, share: float, seed: int) -> DataFrame:
    """The records whose id hashes into the first `share` of the range: the same records on
    every run, however the records are partitioned."""
    if share >= 1.0:
        return records
    return records.where(F.pmod(F.xxhash64(RECORD_ID, F.lit(seed)), F.lit(1_000_000)) < round(share * 1_000_000))


def plan_blocking(
    records: DataFrame,
    profiles: list[ColumnProfile],
    rows: int,
    linkage: bool,
    accuracy_cost_tradeoff: float = 0.5,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
) -> BlockingPlan:
    """Measure the candidate rules on `records` (normalized, with BAND_KEYS; above
    PLAN_SAMPLE_RECORDS on a share of them) and keep those within the pair budget. Two rounds:
    single columns and MinHash bands first, then pairs of the most informative columns that did
    not make a rule on their own. The kept rules' oversized blocks are counted on all records."""
    budget = pair_budget(rows, accuracy_cost_tradeoff)
    share = planning_share(rows)
    sample = hash_sample(records, share, PLAN_SAMPLE_SEED)
    considered: list[tuple[BlockingRule, RuleCost, bool]] = []
    suspects: list[tuple[BlockingRule, int]] = []

    def measure(candidates: list[BlockingRule]) -> list[BlockingRule]:
        if not candidates:  # every column blocked alone leaves no column pair to measure
            return []
        sizes = block_sizes(with_rule_keys(sample, candidates), len(candidates)).cache()
        costs = rule_costs(sizes, len(candidates), linkage, max_block_size, share)
        kept = [i for i, cost in enumerate(costs) if cost.within(budget)]
        considered.extend((candidates[i], cost, i in kept) for i, cost in enumerate(costs))
        # Counted on all records: every block above the cap, or, sampled, every one that may be.
        floor = max_block_size if share >= 1.0 else max(2.0, OVERSIZED_CHECK_MARGIN * max_block_size * share)
        suspects.extend((candidates[i], key) for i, key in oversized_keys(sizes, kept, floor))
        sizes.unpersist()
        return [candidates[i] for i in kept]

    first = measure([*single_column_rules(profiles), *minhash_band_rules(minhash_bands(accuracy_cost_tradeoff))])
    singles = [rule for rule in first if isinstance(rule, ExactRule)]
    blocked_alone = {rule.columns[0] for rule in singles}
    pairs = measure(column_pair_rules(profiles, blocked_alone, accuracy_cost_tradeoff))
    rules = [*singles, *pairs, *[rule for rule in first if isinstance(rule, MinHashBandRule)]]
    suspected = [(rules.index(rule), key) for rule, key in suspects]
    return BlockingPlan(rules, considered, oversized_blocks(records, rules, suspected, max_block_size))


def key_column(rule: int) -> str:
    """The column of a record's key under the rule at this index."""
    return f"_gl_k{rule}"


def with_rule_keys(records: DataFrame, rules: list[BlockingRule], carried: tuple[str, ...] = ()) -> DataFrame:
    """(id, source, *carried, each rule's key as key_column(rule))."""
    return records.select(
        RECORD_ID, SOURCE, *carried, *[rule.key().alias(key_column(i)) for i, rule in enumerate(rules)]
    )


def block_sizes(keyed: DataFrame, rule_count: int) -> DataFrame:
    """(rule, key, left, right): records of table 0 and of table 1 in each non-null block."""
    return (
        block_entries(keyed, rule_count)
        .groupBy("rule", "key")
        .agg(
            F.count(F.when(F.col(SOURCE) == 0, 1)).alias("left"),
            F.count(F.when(F.col(SOURCE) == 1, 1)).alias("right"),
        )
    )


def block_entries(keyed: DataFrame, rule_count: int) -> DataFrame:
    """(id, source, rule, key): one row per record and rule that gives the record a key."""
    entries = F.explode(
        F.array(*[F.struct(F.lit(i).alias("rule"), F.col(key_column(i)).alias("key")) for i in range(rule_count)])
    )
    return (
        keyed.select(RECORD_ID, SOURCE, entries.alias("entry"))
        .where(F.col("entry.key").isNotNull())
        .select(RECORD_ID, SOURCE, "entry.rule", "entry.key")
    )


def rule_costs(
    sizes: DataFrame, rule_count: int, linkage: bool, max_block_size: int, share: float = 1.0
) -> list[RuleCost]:
    """Each rule's cost from its block sizes. `share`: the sizes are of a sample holding that
    share of the records. A block of n records shows about n * share of them, so the cap is
    scaled down and the counts up: s(s-1)/2 over a sampled block of s, divided by the share
    squared, is an unbiased estimate of the block's n(n-1)/2 pairs (and s0*s1 of n0*n1)."""
    size = F.col("left") + F.col("right")
    pairs = F.col("left") * F.col("right") if linkage else F.col("left") * (F.col("left") - 1) / 2
    oversized = size > max_block_size * share
    rows = {
        row.rule: row
        for row in sizes.groupBy("rule")
        .agg(
            F.sum(pairs).alias("pairs"),
            F.sum(F.when(~oversized, pairs).otherwise(0)).alias("pairs_capped"),
            F.max(size).alias("largest"),
            F.count(F.when(oversized, 1)).alias("oversized"),
            F.sum(F.when(oversized, size).otherwise(0)).alias("records_in_oversized"),
            F.sum("left").alias("keyed_left"),
            F.sum("right").alias("keyed_right"),
        )
        .collect()
    }
    pair_scale, record_scale = 1.0 / (share * share), 1.0 / share
    return [
        RuleCost(
            i,
            round(r.pairs * pair_scale),
            round(r.pairs_capped * pair_scale),
            round(r.largest * record_scale),
            int(r.oversized),
            round(r.records_in_oversized * record_scale),
            round(r.keyed_left * record_scale),
            round(r.keyed_right * record_scale),
        )
        if (r := rows.get(i))
        else RuleCost(i, 0, 0, 0, 0, 0, 0, 0)
        for i in range(rule_count)
    ]


def oversized_keys(sizes: DataFrame, rules: list[int], max_block_size: float) -> list[tuple[int, int]]:
    """(rule, key) of every block above `max_block_size` records, for the listed rules."""
    return [
        (row.rule, row.key)
        for row in sizes.where(F.col("rule").isin(rules) & (F.col("left") + F.col("right") > max_block_size))
        .select("rule", "key")
        .collect()
    ]


def oversized_blocks(
    records: DataFrame, rules: list[BlockingRule], suspects: list[tuple[int, int]], max_block_size: int
) -> list[OversizedBlock]:
    """The (rule, key hash) blocks among `suspects` that hold more than `max_block_size` of
    `records`, counted exactly, with the value each key hashes, so the report can say which
    value was too common (one Spark job, only when there are suspects)."""
    if not suspects:
        return []
    by_rule: dict[int, list[int]] = {}
    for rule, key in suspects:
        by_rule.setdefault(rule, []).append(key)
    entries = F.explode(
        F.array(
            *[
                F.struct(F.lit(i).alias("rule"), rules[i].key().alias("key"), rules[i].readable_key().alias("value"))
                for i in sorted(by_rule)
            ]
        )
    )
    # Only the records in a suspected block are exploded and counted.
    suspected = reduce(lambda a, b: a | b, [rules[rule].key().isin(keys) for rule, keys in by_rule.items()])
    wanted = reduce(
        lambda a, b: a | b,
        [(F.col("entry.rule") == rule) & F.col("entry.key").isin(keys) for rule, keys in by_rule.items()],
    )
    counted = (
        records.where(suspected)
        .select(entries.alias("entry"))
        .where(wanted)
        .groupBy(F.col("entry.rule").alias("rule"), F.col("entry.key").alias("key"))
        .agg(F.count(F.lit(1)).alias("size"), F.first("entry.value").alias("value"))
        .where(F.col("size") > max_block_size)
    )
    found = {(row.rule, row.key): row.value for row in counted.collect()}
    return [OversizedBlock(rule, key, found[(rule, key)]) for rule, key in suspects if (rule, key) in found]


def without_oversized(keyed: DataFrame, oversized: list[tuple[int, int]]) -> DataFrame:
    """Null the keys of oversized blocks, so their rule neither emits nor attributes those pairs.
    `oversized` is small (one entry per giant block), so it is applied as literals."""
    columns = []
    for name in keyed.columns:
        giant = [key for rule, key in oversized if name == key_column(rule)]
        columns.append(F.when(~column_in(name, giant), F.col(name)).alias(name) if giant else F.col(name))
    return keyed.select(*columns)
