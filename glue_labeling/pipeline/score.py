"""Score: per-column similarity features of a pair, the classifier's inputs (classify.py).

The unsupervised model reads only each column's Jaro-Winkler level
(compare.compared_candidates), so the candidate pairs of a run without a classifier get
one comparison per column, not the two or three below.

For every compared column (all normalized text, so the same features fit names, codes and
dates written as text):
  * `_gl_sim<i>`: Jaro-Winkler, 1.0 for an exact match. The comparison levels of the
    Fellegi-Sunter model come from it;
  * `_gl_lev<i>`: Levenshtein similarity, 1 - distance / longer length;
  * `_gl_jac<i>`: Jaccard similarity of the word sets (catches reordered names), for columns
    whose values often hold several words;
  * `_gl_dist<i>`: for number and date columns (typed so in the input), |left - right| over
    the column's standard deviation (dates in days), so distances compare across columns;
all null when either side is null, which doubles as the null indicator.

Jaro-Winkler, Levenshtein and word Jaccard are JVM functions (jvm.py: scripts/jvm/src, built by
scripts/setup.sh into the jars Spark loads, shipped with a deploy); the first two equal
rapidfuzz's figures. They replaced a rapidfuzz pandas UDF: on 100k generated records the UDF
spent about 60 s of the score stage moving every pair's strings through Arrow to Python and
back, several times the comparisons.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID
from glue_labeling.pipeline.block import ColumnProfile
from glue_labeling.pipeline.jvm import register_jvm_functions
from glue_labeling.pipeline.normalize import comparison_column, numeric_column


def jaro_winkler(left: Column, right: Column) -> Column:
    return F.call_function("gl_jaro_winkler", left, right)


def levenshtein(left: Column, right: Column) -> Column:
    return F.call_function("gl_levenshtein", left, right)


def similarity_column(index: int) -> str:
    return f"_gl_sim{index}"


def levenshtein_column(index: int) -> str:
    return f"_gl_lev{index}"


def jaccard_column(index: int) -> str:
    return f"_gl_jac{index}"


def distance_column(index: int) -> str:
    return f"_gl_dist{index}"


def token_jaccard(left: Column, right: Column) -> Column:
    return F.call_function("gl_token_jaccard", left, right)


# Up to this many records, pairs get both records' columns from a broadcast copy of the records
# (hash lookups, the pairs stay where they are) instead of two shuffle joins that each move
# every pair. A 4 GB local driver could not broadcast 1M generated person records (with their
# term frequencies): "Not enough memory to build and broadcast the table".
BROADCAST_RECORDS_MAX = 500_000


def with_both_records(
    pairs: DataFrame, records: DataFrame, columns: tuple[str, ...], broadcast_records: bool = False
) -> DataFrame:
    """pairs (id_l, id_r, ...) with both records' `columns`, as `<name>_l` and `<name>_r`.
    `broadcast_records`: the records are few enough (BROADCAST_RECORDS_MAX) to copy to every
    task; else each join shuffles both sides and hashes the records' side (a shuffled hash join,
    not a sort-merge join, which would sort every pair twice: on 1M generated records the two
    joins and the Jaro-Winkler levels took 37 s against 40.5 s sorted). Columns a later select
    leaves out are pruned from the join."""
    shared = F.broadcast(records) if broadcast_records else records.hint("shuffle_hash")
    return pairs.join(pair_side(shared, columns, "l"), "id_l").join(pair_side(shared, columns, "r"), "id_r")


def pair_side(records: DataFrame, columns: tuple[str, ...], side: str) -> DataFrame:
    """`records`' id and `columns` named as one side of a pair: `id_<side>`, `<name>_<side>`."""
    return records.select(F.col(RECORD_ID).alias(f"id_{side}"), *[F.col(c).alias(f"{c}_{side}") for c in columns])


# Columns with at least this share of multi-word values get the word-Jaccard feature.
MULTI_WORD_RATIO = 0.05


@dataclasses.dataclass(frozen=True)
class PairFeatures:
    """Which features each compared column gets, from the column profiles."""

    column_count: int
    multi_word: frozenset[int]  # word Jaccard (on one-word values it is just exact match)
    numeric_scales: tuple[tuple[int, float], ...]  # (column, scale): the scaled distance

    @classmethod
    def of(cls, profiles: list[ColumnProfile]) -> PairFeatures:
        return cls(
            len(profiles),
            frozenset(p.index for p in profiles if p.multi_word_ratio >= MULTI_WORD_RATIO),
            tuple((p.index, p.numeric_scale) for p in profiles if p.numeric_scale is not None),
        )

    def columns(self) -> list[tuple[int, str]]:
        """(compared column, feature column) for every feature, in a fixed order."""
        scaled = dict(self.numeric_scales)
        columns = []
        for i in range(self.column_count):
            columns += [(i, similarity_column(i)), (i, levenshtein_column(i))]
            if i in self.multi_word:
                columns.append((i, jaccard_column(i)))
            if i in scaled:
                columns.append((i, distance_column(i)))
        return columns


def with_features(
    pairs: DataFrame, records: DataFrame, features: PairFeatures, broadcast_records: bool = False
) -> DataFrame:
    """Joins both records' normalized columns onto each pair (id_l, id_r, rule, and any other
    column, kept) and adds the `features`: the classifier's inputs (classify.py)."""
    compared = [comparison_column(i) for i in range(features.column_count)]
    scales = dict(features.numeric_scales)
    register_jvm_functions(pairs.sparkSession)
    joined = with_both_records(pairs, records, (*compared, *[numeric_column(i) for i in scales]), broadcast_records)
    columns = []
    for i, name in features.columns():
        left, right = F.col(f"{compared[i]}_l"), F.col(f"{compared[i]}_r")
        if name == similarity_column(i):
            columns.append(jaro_winkler(left, right).alias(name))
        elif name == levenshtein_column(i):
            columns.append(levenshtein(left, right).alias(name))
        elif name == jaccard_column(i):
            columns.append(token_jaccard(left, right).alias(name))
        else:
            difference = F.abs(F.col(f"{numeric_column(i)}_l") - F.col(f"{numeric_column(i)}_r"))
            columns.append((difference / scales[i]).alias(name))
    return joined.select(*pairs.columns, *columns)
