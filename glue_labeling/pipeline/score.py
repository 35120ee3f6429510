"""Score, first half: per-column similarity features of each candidate pair.

For every compared column (all normalized text, so the same features fit names, codes and
dates written as text):
  * `_gl_sim<i>`: Jaro-Winkler, 1.0 for an exact match. rapidfuzz computes it on whole Arrow
    batches in a pandas UDF (`cpdist` compares the two columns element-wise in C++), so no
    Python code runs per row. The comparison levels of the Fellegi-Sunter model come from it.
  * `_gl_lev<i>`: Levenshtein similarity, 1 - distance / longer length, from the same UDF;
  * `_gl_jac<i>`: Jaccard similarity of the word sets (catches reordered names), for columns
    whose values often hold several words;
  * `_gl_dist<i>`: for number and date columns, |left - right| over the column's standard
    deviation (dates in days), so distances compare across columns;
all null when either side is null, which doubles as the null indicator.
The unsupervised match probability is fellegi_sunter.py's work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from glue_labeling.pipeline import RECORD_ID
from glue_labeling.pipeline.normalize import comparison_column, numeric_column


# A StructType rather than a DDL string: parsing DDL needs a running SparkContext, and this
# module is imported before one exists.
@F.pandas_udf(StructType([StructField("jaro_winkler", DoubleType()), StructField("levenshtein", DoubleType())]))
def string_similarities(left: pd.Series, right: pd.Series) -> pd.DataFrame:
    """Jaro-Winkler and Levenshtein similarity (1 - distance / longer length), NaN where either
    side is null. rapidfuzz in C++ over the whole batch: Spark's own `levenshtein` is several
    times slower than this on names."""
    from rapidfuzz.distance import JaroWinkler, Levenshtein
    from rapidfuzz.process import cpdist

    present = (left.notna() & right.notna()).to_numpy()
    result = pd.DataFrame({"jaro_winkler": np.full(len(left), np.nan), "levenshtein": np.full(len(left), np.nan)})
    if present.any():
        lefts, rights = left[present].tolist(), right[present].tolist()
        for name, scorer in (("jaro_winkler", JaroWinkler), ("levenshtein", Levenshtein)):
            result.loc[present, name] = cpdist(lefts, rights, scorer=scorer.normalized_similarity, workers=1)
    return result


def similarity_column(index: int) -> str:
    return f"_gl_sim{index}"


def levenshtein_column(index: int) -> str:
    return f"_gl_lev{index}"


def jaccard_column(index: int) -> str:
    return f"_gl_jac{index}"


def distance_column(index: int) -> str:
    return f"_gl_dist{index}"


def token_jaccard(left: Column, right: Column) -> Column:
    left_tokens, right_tokens = F.split(left, " "), F.split(right, " ")
    return F.size(F.array_intersect(left_tokens, right_tokens)) / F.size(F.array_union(left_tokens, right_tokens))


def with_features(
    pairs: DataFrame,
    records: DataFrame,
    column_count: int,
    carried: tuple[str, ...] = (),
    multi_word: frozenset[int] = frozenset(),
    numeric_scales: dict[int, float] | None = None,
) -> DataFrame:
    """Joins both records' normalized columns (and the record-level `carried` columns, as
    `<name>_l`/`<name>_r`) onto each pair (id_l, id_r, rule) and adds the features; word
    Jaccard only for the `multi_word` columns (on one-word values it is just exact match), the
    scaled distance for the `numeric_scales` columns (index -> scale)."""
    compared = [comparison_column(i) for i in range(column_count)]
    scales = numeric_scales or {}
    carried = (*carried, *[numeric_column(i) for i in scales])
    sides = {}
    for side in ("l", "r"):
        sides[side] = records.select(
            F.col(RECORD_ID).alias(f"id_{side}"),
            *[F.col(c).alias(f"{c}_{side}") for c in (*compared, *carried)],
        )
    joined = pairs.join(sides["l"], "id_l").join(sides["r"], "id_r")
    similarities = joined.select(
        "*",
        *[
            string_similarities(F.col(f"{c}_l"), F.col(f"{c}_r")).alias(f"_gl_strings{i}")
            for i, c in enumerate(compared)
        ],
    )
    features = []
    for i, c in enumerate(compared):
        left, right = F.col(f"{c}_l"), F.col(f"{c}_r")
        present = left.isNotNull() & right.isNotNull()
        features += [
            F.when(present, F.col(f"_gl_strings{i}.jaro_winkler")).alias(similarity_column(i)),
            F.when(present, F.col(f"_gl_strings{i}.levenshtein")).alias(levenshtein_column(i)),
        ]
        if i in multi_word:
            features.append(F.when(present, token_jaccard(left, right)).alias(jaccard_column(i)))
        if i in scales:
            difference = F.abs(F.col(f"{numeric_column(i)}_l") - F.col(f"{numeric_column(i)}_r"))
            features.append((difference / scales[i]).alias(distance_column(i)))
    carried_sides = [F.col(f"{name}_{side}") for name in carried for side in ("l", "r")]
    return similarities.select("id_l", "id_r", "rule", *features, *carried_sides)
