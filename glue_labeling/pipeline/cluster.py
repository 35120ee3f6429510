"""Cluster: connected components over the pairs scored at or above the match threshold.

Min-label propagation on DataFrames: each round a record takes the smallest component id among
its own and its neighbours', until nothing changes. The first round needs no labels (a record's
smallest id among itself and its neighbours comes from the edges alone), and every round is one
join (neighbours' labels to the record) and one aggregation over those proposals together with
the record's own label, which also says whether the record changed. Lineage is cut with a local
checkpoint each round so the plan stays small, and the round count is bounded and reported.

On the 484,713 match edges of 1M generated records (5 rounds), side by side: 6.6-7.9 s, against
8.6-13.3 s when each round also joined the proposals back to the labels and the first round
started from labels of one record each.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_MAX_ITERATIONS = 30


def connected_components(edges: DataFrame, max_iterations: int = DEFAULT_MAX_ITERATIONS) -> tuple[DataFrame, int]:
    """edges (id_l, id_r) -> ((id, component), rounds). Only records with an edge appear."""
    both_ways = (
        edges.select(F.col("id_l").alias("id"), F.col("id_r").alias("neighbour"))
        .union(edges.select("id_r", "id_l"))
        .localCheckpoint()
    )
    labels = both_ways.groupBy("id").agg(F.least(F.min("neighbour"), F.col("id")).alias("component")).localCheckpoint()
    for round_number in range(2, max_iterations + 1):
        proposals = both_ways.join(labels.withColumnRenamed("id", "neighbour"), "neighbour").select(
            "id", F.col("component").alias("proposal"), F.lit(False).alias("own")
        )
        own = labels.select("id", F.col("component").alias("proposal"), F.lit(True).alias("own"))
        # Components only ever decrease, so a record changed exactly when a neighbour proposed a
        # smaller one than its own.
        updated = (
            proposals.unionByName(own)
            .groupBy("id")
            .agg(F.min(F.when(F.col("own"), F.col("proposal"))).alias("previous"), F.min("proposal").alias("component"))
            .select("id", "component", (F.col("component") < F.col("previous")).alias("changed"))
            .localCheckpoint()
        )
        labels = updated.select("id", "component")
        if updated.where("changed").isEmpty():
            return labels, round_number
    return labels, max_iterations
