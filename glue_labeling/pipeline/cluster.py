"""Cluster: connected components over the pairs scored at or above the match threshold.

Min-label propagation on DataFrames: every record starts as its own component; each round a
record takes the smallest component id among itself and its neighbours, until nothing
changes. Lineage is cut with a local checkpoint each round so the plan stays small, and the
round count is bounded and reported.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_MAX_ITERATIONS = 30


def connected_components(edges: DataFrame, max_iterations: int = DEFAULT_MAX_ITERATIONS) -> tuple[DataFrame, int]:
    """edges (id_l, id_r) -> ((id, component), rounds). Only records with an edge appear."""
    both_ways = edges.select("id_l", "id_r").union(edges.select("id_r", "id_l")).localCheckpoint()
    labels = both_ways.select(F.col("id_l").alias("id")).distinct().withColumn("component", F.col("id"))
    labels = labels.localCheckpoint()
    for round_number in range(1, max_iterations + 1):
        proposals = both_ways.join(labels, both_ways.id_r == labels.id).select(
            F.col("id_l").alias("id"), F.col("component").alias("proposal")
        )
        # Components only ever decrease, so a record changed exactly when a neighbour proposed a
        # smaller one: the round's own aggregation says so, without joining old and new labels.
        updated = (
            labels.join(proposals, "id", "left")
            .groupBy("id")
            .agg(F.min("component").alias("previous"), F.min("proposal").alias("best"))
            .select(
                "id",
                F.least("previous", F.coalesce("best", "previous")).alias("component"),
                F.coalesce(F.col("best") < F.col("previous"), F.lit(False)).alias("changed"),
            )
            .localCheckpoint()
        )
        labels = updated.select("id", "component")
        if updated.where("changed").isEmpty():
            return labels, round_number
    return labels, max_iterations
