"""Block: candidate pairs from several blocking rules, each pair kept under the first rule
that finds it (as Splink does: later rules exclude pairs an earlier rule's keys already
match, so no global distinct shuffle is needed).

A rule is a list of key expressions over the normalized columns; two records are candidates
when every key is non-null and equal. Default rules come from column statistics:
  * exact rules on identifying columns (many distinct values, few nulls);
  * exact rules on pairs of informative columns, so that typos or missing values in the other
    columns still leave a rule under which the duplicates meet.
AccuracyCostTradeoff widens (more columns in the pairs) or narrows them.
Blocks larger than `max_block_size` are dropped from their rule and reported: they are the
skew that would make cost grow with the square of the table.
"""

from __future__ import annotations

import dataclasses
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.normalize import comparison_column

DEFAULT_MAX_BLOCK_SIZE = 500
# A column with at least this many distinct values per row (blocks of five on average) identifies
# records well enough for an exact rule on its own (phone, e-mail; not surname or city).
IDENTIFYING_DISTINCT_RATIO = 0.2
# Columns null in more rows than this cannot carry a rule.
MIN_NON_NULL_RATIO = 0.3


@dataclasses.dataclass(frozen=True)
class ColumnProfile:
    index: int
    name: str
    distinct: int
    non_null_ratio: float


@dataclasses.dataclass(frozen=True)
class BlockingRule:
    name: str
    # (comparison column index, prefix length or 0 for the whole value)
    keys: tuple[tuple[int, int], ...]

    def key_expression(self) -> Column:
        parts = [
            F.substring(F.col(comparison_column(i)), 1, length) if length else F.col(comparison_column(i))
            for i, length in self.keys
        ]
        # concat_ws skips nulls, so require every part explicitly.
        present = reduce(lambda a, b: a & b, [part.isNotNull() for part in parts])
        return F.when(present, F.concat_ws("\u001f", *parts))


def profile_columns(records: DataFrame, columns: list[str]) -> list[ColumnProfile]:
    aggregates = []
    for i in range(len(columns)):
        column = F.col(comparison_column(i))
        aggregates += [F.approx_count_distinct(column).alias(f"d{i}"), F.count(column).alias(f"c{i}")]
    row = records.agg(F.count(F.lit(1)).alias("rows"), *aggregates).first()
    rows = max(row["rows"], 1)
    return [ColumnProfile(i, name, row[f"d{i}"], row[f"c{i}"] / rows) for i, name in enumerate(columns)]


def default_rules(profiles: list[ColumnProfile], rows: int, accuracy_cost_tradeoff: float = 0.5) -> list[BlockingRule]:
    """Exact rules on identifying columns, then exact rules on every pair of the most
    informative columns: two records meet if any two of those columns agree after
    normalization, so typos or gaps in all the others still leave them a rule."""
    usable = [p for p in profiles if p.non_null_ratio >= MIN_NON_NULL_RATIO and p.distinct > 1]
    ranked = sorted(usable, key=lambda p: p.distinct * p.non_null_ratio, reverse=True)
    identifying = [p for p in ranked if p.distinct >= IDENTIFYING_DISTINCT_RATIO * rows]
    rules = [BlockingRule(f"exact:{p.name}", ((p.index, 0),)) for p in identifying]
    # A pair holding an identifying column would only repeat that column's own rule.
    width = 3 + round(2 * accuracy_cost_tradeoff)  # 3 columns at 0.0, 4 at 0.5, 5 at 1.0
    top = [p for p in ranked if p not in identifying][:width]
    for position, first in enumerate(top):
        for second in top[position + 1 :]:
            rules.append(BlockingRule(f"exact:{first.name}+{second.name}", ((first.index, 0), (second.index, 0))))
    return rules


def with_rule_keys(records: DataFrame, rules: list[BlockingRule]) -> DataFrame:
    return records.select(
        RECORD_ID, SOURCE, *[rule.key_expression().alias(f"_gl_k{i}") for i, rule in enumerate(rules)]
    )


def oversized_blocks(keyed: DataFrame, rules: list[BlockingRule], max_block_size: int) -> DataFrame:
    """(rule, key, size) of every block above the cap."""
    per_rule = [
        keyed.where(F.col(f"_gl_k{i}").isNotNull())
        .groupBy(F.col(f"_gl_k{i}").alias("key"))
        .count()
        .where(F.col("count") > max_block_size)
        .select(F.lit(i).alias("rule"), "key", F.col("count").alias("size"))
        for i in range(len(rules))
    ]
    return reduce(DataFrame.unionByName, per_rule)


def without_oversized(keyed: DataFrame, oversized: list[tuple[int, str]]) -> DataFrame:
    """Null the keys of oversized blocks, so their rule neither emits nor excludes those pairs.
    `oversized` is small (one entry per giant block), so it is applied as literals."""
    columns = []
    for name in keyed.columns:
        giant = [key for rule, key in oversized if name == f"_gl_k{rule}"]
        columns.append(F.when(~F.col(name).isin(giant), F.col(name)).alias(name) if giant else F.col(name))
    return keyed.select(*columns)


def candidate_pairs(keyed: DataFrame, rule_count: int, linkage: bool) -> DataFrame:
    """(id_l, id_r, rule) with each pair once. Dedup: id_l < id_r; linkage: table 0 vs table 1."""
    per_rule = []
    for i in range(rule_count):
        key = f"_gl_k{i}"
        side = keyed.where(F.col(key).isNotNull())
        pairs = side.alias("l").join(side.alias("r"), F.col(f"l.{key}") == F.col(f"r.{key}"))
        if linkage:
            pairs = pairs.where((F.col(f"l.{SOURCE}") == 0) & (F.col(f"r.{SOURCE}") == 1))
        else:
            pairs = pairs.where(F.col(f"l.{RECORD_ID}") < F.col(f"r.{RECORD_ID}"))
        for earlier in range(i):
            k = f"_gl_k{earlier}"
            pairs = pairs.where(~F.coalesce(F.col(f"l.{k}") == F.col(f"r.{k}"), F.lit(False)))
        per_rule.append(
            pairs.select(
                F.col(f"l.{RECORD_ID}").alias("id_l"), F.col(f"r.{RECORD_ID}").alias("id_r"), F.lit(i).alias("rule")
            )
        )
    return reduce(DataFrame.unionByName, per_rule)
