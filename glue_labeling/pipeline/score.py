"""Score, first half: per-column similarity features of each candidate pair.

For every compared column (all normalized text, so the same features fit names, codes and
dates written as text):
  * `_gl_sim<i>`: Jaro-Winkler, 1.0 for an exact match. rapidfuzz computes it on whole Arrow
    batches in a pandas UDF (`cpdist` compares the two columns element-wise in C++), so no
    Python code runs per row. The comparison levels of the Fellegi-Sunter model come from it.
  * `_gl_lev<i>`: Levenshtein similarity, 1 - distance / longer length (Spark's own function);
  * `_gl_jac<i>`: Jaccard similarity of the word sets (catches reordered names);
all null when either side is null, which doubles as the null indicator.
The unsupervised match probability is fellegi_sunter.py's work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType

from glue_labeling.pipeline import RECORD_ID
from glue_labeling.pipeline.normalize import comparison_column


@F.pandas_udf(DoubleType())
def jaro_winkler(left: pd.Series, right: pd.Series) -> pd.Series:
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    present = left.notna() & right.notna()
    result = np.full(len(left), np.nan)
    if present.any():
        result[present.to_numpy()] = cpdist(
            left[present].tolist(), right[present].tolist(), scorer=JaroWinkler.normalized_similarity, workers=1
        )
    return pd.Series(result)


def similarity_column(index: int) -> str:
    return f"_gl_sim{index}"


def levenshtein_column(index: int) -> str:
    return f"_gl_lev{index}"


def jaccard_column(index: int) -> str:
    return f"_gl_jac{index}"


def levenshtein_similarity(left: Column, right: Column) -> Column:
    longer = F.greatest(F.length(left), F.length(right))
    return F.lit(1.0) - F.levenshtein(left, right) / longer


def token_jaccard(left: Column, right: Column) -> Column:
    left_tokens, right_tokens = F.split(left, " "), F.split(right, " ")
    return F.size(F.array_intersect(left_tokens, right_tokens)) / F.size(F.array_union(left_tokens, right_tokens))


def with_features(pairs: DataFrame, records: DataFrame, column_count: int, carried: tuple[str, ...] = ()) -> DataFrame:
    """Joins both records' normalized columns (and the record-level `carried` columns, as
    `<name>_l`/`<name>_r`) onto each pair (id_l, id_r, rule) and adds the features."""
    compared = [comparison_column(i) for i in range(column_count)]
    sides = {}
    for side in ("l", "r"):
        sides[side] = records.select(
            F.col(RECORD_ID).alias(f"id_{side}"),
            *[F.col(c).alias(f"{c}_{side}") for c in (*compared, *carried)],
        )
    joined = pairs.join(sides["l"], "id_l").join(sides["r"], "id_r")
    features = []
    for i, c in enumerate(compared):
        left, right = F.col(f"{c}_l"), F.col(f"{c}_r")
        present = left.isNotNull() & right.isNotNull()
        features += [
            F.when(left == right, F.lit(1.0)).otherwise(jaro_winkler(left, right)).alias(similarity_column(i)),
            F.when(present, levenshtein_similarity(left, right)).alias(levenshtein_column(i)),
            F.when(present, token_jaccard(left, right)).alias(jaccard_column(i)),
        ]
    carried_sides = [F.col(f"{name}_{side}") for name in carried for side in ("l", "r")]
    return joined.select("id_l", "id_r", "rule", *features, *carried_sides)
