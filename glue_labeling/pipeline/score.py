"""Score: per-column similarity features of each candidate pair, and an unsupervised score.

String similarity is Jaro-Winkler from rapidfuzz, applied to whole Arrow batches in a pandas
UDF (`cpdist` compares the two columns element-wise in C++), so no Python code runs per row.
Exact-match and null indicators come from Spark's own functions.

With no labels yet, the score is the agreement of the columns (similarity above a floor,
rescaled to [0, 1]) weighted by how much an
agreement on that column tells: log2 of its number of distinct values (agreeing on a column
with two values says little; agreeing on a phone number says a lot). Columns null on either
side are left out of both the sum and the weights.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType

from glue_labeling.pipeline import RECORD_ID
from glue_labeling.pipeline.block import ColumnProfile
from glue_labeling.pipeline.normalize import comparison_column

AGREEMENT_FLOOR = 0.8


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


def with_features(pairs: DataFrame, records: DataFrame, column_count: int) -> DataFrame:
    """Joins both records' normalized columns onto each pair and adds `_gl_sim<i>` in [0, 1]
    (null when either side is null)."""
    compared = [comparison_column(i) for i in range(column_count)]
    left = records.select(F.col(RECORD_ID).alias("id_l"), *[F.col(c).alias(f"{c}_l") for c in compared])
    right = records.select(F.col(RECORD_ID).alias("id_r"), *[F.col(c).alias(f"{c}_r") for c in compared])
    joined = pairs.join(left, "id_l").join(right, "id_r")
    features = [
        F.when(F.col(f"{c}_l") == F.col(f"{c}_r"), F.lit(1.0))
        .otherwise(jaro_winkler(F.col(f"{c}_l"), F.col(f"{c}_r")))
        .alias(similarity_column(i))
        for i, c in enumerate(compared)
    ]
    return joined.select("id_l", "id_r", "rule", *features)


def column_weights(profiles: list[ColumnProfile]) -> list[float]:
    return [math.log2(max(p.distinct, 2)) for p in profiles]


def agreement(similarity: Column) -> Column:
    """Similarity rescaled so that only near-agreement counts: unrelated strings still share
    characters (Jaro-Winkler of two random phone numbers is often 0.6-0.8), so below
    AGREEMENT_FLOOR a column says nothing for a match."""
    return F.greatest(F.lit(0.0), (similarity - AGREEMENT_FLOOR) / (1.0 - AGREEMENT_FLOOR))


def with_unsupervised_score(featured: DataFrame, weights: list[float]) -> DataFrame:
    """`match_score` in [0, 1]: the weighted mean of the agreements of the non-null columns."""
    weighted = [F.coalesce(agreement(F.col(similarity_column(i))) * w, F.lit(0.0)) for i, w in enumerate(weights)]
    present = [F.when(F.col(similarity_column(i)).isNotNull(), F.lit(w)).otherwise(0.0) for i, w in enumerate(weights)]
    total_weight = sum(present[1:], present[0])
    score = sum(weighted[1:], weighted[0]) / F.when(total_weight > 0, total_weight)
    return featured.withColumn("match_score", F.coalesce(score, F.lit(0.0)))
