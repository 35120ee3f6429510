"""Score, first half: per-column similarity features of each candidate pair.

For every compared column (all normalized text, so the same features fit names, codes and
dates written as text):
  * `_gl_sim<i>`: Jaro-Winkler, 1.0 for an exact match. The comparison levels of the
    Fellegi-Sunter model come from it;
  * `_gl_lev<i>`: Levenshtein similarity, 1 - distance / longer length;
  * `_gl_jac<i>`: Jaccard similarity of the word sets (catches reordered names), for columns
    whose values often hold several words;
  * `_gl_dist<i>`: for number and date columns, |left - right| over the column's standard
    deviation (dates in days), so distances compare across columns;
all null when either side is null, which doubles as the null indicator.

Jaro-Winkler, Levenshtein and word Jaccard are JVM functions (jvm.py: scripts/jvm/src, built by
scripts/setup.sh into the jars Spark loads, shipped with a deploy); the first two equal
rapidfuzz's figures. They replaced a rapidfuzz pandas UDF: on 100k generated records the UDF
spent about 60 s of the score stage moving every pair's strings through Arrow to Python and
back, several times the comparisons.
The unsupervised match probability is fellegi_sunter.py's work.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline import RECORD_ID
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


def with_features(
    pairs: DataFrame,
    records: DataFrame,
    column_count: int,
    carried: tuple[str, ...] = (),
    multi_word: frozenset[int] = frozenset(),
    numeric_scales: dict[int, float] | None = None,
    broadcast_records: bool = False,
) -> DataFrame:
    """Joins both records' normalized columns (and the record-level `carried` columns, as
    `<name>_l`/`<name>_r`) onto each pair (id_l, id_r, rule) and adds the features; word
    Jaccard only for the `multi_word` columns (on one-word values it is just exact match), the
    scaled distance for the `numeric_scales` columns (index -> scale). `broadcast_records`: the
    records are few enough (BROADCAST_RECORDS_MAX) to copy to every task."""
    compared = [comparison_column(i) for i in range(column_count)]
    scales = numeric_scales or {}
    carried = (*carried, *[numeric_column(i) for i in scales])
    sides = {}
    for side in ("l", "r"):
        sides[side] = (F.broadcast(records) if broadcast_records else records).select(
            F.col(RECORD_ID).alias(f"id_{side}"),
            *[F.col(c).alias(f"{c}_{side}") for c in (*compared, *carried)],
        )
    register_jvm_functions(pairs.sparkSession)
    joined = pairs.join(sides["l"], "id_l").join(sides["r"], "id_r")
    features = []
    for i, c in enumerate(compared):
        left, right = F.col(f"{c}_l"), F.col(f"{c}_r")
        features += [
            jaro_winkler(left, right).alias(similarity_column(i)),
            levenshtein(left, right).alias(levenshtein_column(i)),
        ]
        if i in multi_word:
            features.append(token_jaccard(left, right).alias(jaccard_column(i)))
        if i in scales:
            difference = F.abs(F.col(f"{numeric_column(i)}_l") - F.col(f"{numeric_column(i)}_r"))
            features.append((difference / scales[i]).alias(distance_column(i)))
    carried_sides = [F.col(f"{name}_{side}") for name in carried for side in ("l", "r")]
    return joined.select("id_l", "id_r", "rule", *features, *carried_sides)
