"""Compare: every candidate pair with its comparison levels, made where the pair's block is.

Blocking (block.py) gives each record a key per rule; two records are candidates when a rule
gives them the same key, and a pair belongs to the first rule that finds it. The unsupervised
model (fellegi_sunter.py) reads each pair's comparison level per column, which needs both
records' columns side by side. Both happen in one shuffle:

  1. every block's records are counted exactly, and blocks of one record dropped (most keys of
     a near-unique column or a MinHash band are held by one record);
  2. each record goes, with its compared columns, its keys of every rule and the columns the
     model carries (term frequencies), to the partition of each block it shares with another
     record, the block's records next to one another;
  3. there a JVM function (scripts/jvm/src, BlockComparison.java) makes the block's pairs, drops
     those an earlier rule finds too (both records bring that rule's key), and compares each
     pair's columns: the level of fellegi_sunter.comparison_level, from the same Jaro-Winkler.

It replaced a self-join of the (rule, key) entries, a shuffle of the raw pairs to keep each
once, and two joins of every pair back to its records, each of which converted both records'
strings for every pair. On 1M generated person records (11 rules, 5.8M candidate pairs), side by
side: the block and score stages took 40.9 s against 48.3 s (the whole run 89.6 s against 96.9 s);
on 100k records 12.5-13.0 s against 13.8-14.2 s.
"""

from __future__ import annotations

import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ByteType, DoubleType, IntegerType, LongType, StructField, StructType

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import BlockingRule, block_entries, key_column, with_rule_keys, without_oversized
from glue_labeling.pipeline.fellegi_sunter import CLOSE, SIMILAR, level_column
from glue_labeling.pipeline.jvm import jvm_frame
from glue_labeling.pipeline.normalize import comparison_column

# Block entries (record, rule) per partition of the comparison: a partition's records are
# sorted by block before their pairs are made.
ENTRIES_PER_PARTITION = 1_000_000
# Up to this many blocks of more than one record (8 bytes each in the hash set) go to every
# task; above, the records of every block are shuffled and joined to them. Of the 11M block
# entries of 1M generated person records, 4.3M are in such blocks.
SHARED_BLOCKS_BROADCAST_MAX = 10_000_000


def compared_candidates(
    records: DataFrame,
    rules: list[BlockingRule],
    oversized: list[tuple[int, int]],
    column_count: int,
    carried: tuple[str, ...],
    linkage: bool,
    rows: int,
    counted: DataFrame | None = None,
) -> DataFrame:
    """(id_l, id_r, rule, `_gl_lvl<i>` as bytes, and `<name>_l` for each `carried` column of the
    left record): each candidate pair once, under the first rule that finds it. Dedup: id_l <
    id_r; linkage: the record of table 0 left, table 1 right. `records`: normalized, with
    RECORD_ID, SOURCE, what the rules' keys read (BAND_KEYS) and the `carried` columns (doubles);
    the blocks `oversized` (rule, key) make no pairs and find none. `rows`: the records.
    `counted`: the same records without the `carried` columns, where adding them cost work (the
    term frequencies' joins): the blocks of more than one record are counted on it (at 1M
    generated records the count's first job took 1.3 s against 1.7-1.9 s with the joins)."""
    compared = [comparison_column(i) for i in range(column_count)]
    keys = [key_column(i) for i in range(len(rules))]
    keyed = without_oversized(with_rule_keys(records, rules, (*compared, *carried)), oversized)
    keys_only = keyed if counted is None else without_oversized(with_rule_keys(counted, rules), oversized)
    # A multiple of the shuffle partitions (the task slots, locally): at 1M generated records
    # 11 partitions on two cores left one core idle for the last task's 1.5 s.
    slots = int(records.sparkSession.conf.get("spark.sql.shuffle.partitions") or 1)
    partitions = slots * max(1, math.ceil(rows * len(rules) / ENTRIES_PER_PARTITION / slots))
    payload = (*keys, *compared, *carried)
    entries = numbered_entries(keyed, len(rules), payload)
    # Checkpointed: its size decides the join, which then reads it again.
    shared = shared_blocks(numbered_entries(keys_only, len(rules)), partitions).localCheckpoint()
    if shared.count() <= SHARED_BLOCKS_BROADCAST_MAX:
        # The blocks of more than one record go to every task, and the others' records are
        # dropped before they are shuffled (most records are alone in most of their blocks).
        members = entries.join(F.broadcast(shared), "block", "left_semi").repartition(partitions, "block")
    else:
        members = entries.repartition(partitions, "block").join(
            shared.repartition(partitions, "block"), "block", "left_semi"
        )
    # Partitioned by block, so a block's records are in one partition; sorted, so they are a run;
    # in the columns' order BlockComparison reads. Sorted on the block's number alone: one long
    # column is radix-sorted on its prefix, where (rule, key) compared every row of a rule (one
    # sort prefix) in full, which was a quarter of the comparison's time at 1M records.
    members = members.sortWithinPartitions("block").select("block", "rule", "key", RECORD_ID, SOURCE, *payload)
    return block_pairs(members, len(rules), column_count, carried, linkage)


def numbered_entries(keyed: DataFrame, rule_count: int, payload: tuple[str, ...] = ()) -> DataFrame:
    """block.block_entries with "block": one 64-bit number per (rule, key). A set of them is half
    the size of (rule, key) pairs, and two blocks that happen to share one only let a record of
    one record's block through, and put the two blocks' records in one run, where
    BlockComparison pairs only equal (rule, key)."""
    return block_entries(keyed, rule_count, payload).withColumn("block", F.xxhash64("rule", "key"))


def shared_blocks(entries: DataFrame, partitions: int) -> DataFrame:
    """(block): the block numbers of two or more `entries`, once each, counted by a JVM function
    (RepeatedValues.java) on the block numbers alone. On 1M generated person records (11M
    entries, 10.2M distinct blocks) it took 3.4-3.5 s against 6.3-6.6 s for Spark's groupBy and
    count, side by side: the partial aggregation before the shuffle reduced nothing."""
    return jvm_frame(
        entries.select("block").repartition(partitions, "block"),
        "io.gluelabeling.RepeatedValues",
        "repeated",
        StructType([StructField("block", LongType())]),
    )


def block_pairs(
    members: DataFrame, rule_count: int, column_count: int, carried: tuple[str, ...], linkage: bool
) -> DataFrame:
    """BlockComparison over `members`: (block, rule, key, RECORD_ID, SOURCE, the keys of every
    rule, the compared columns, the `carried` columns), each block number's rows in one
    partition and in a run. The pairs of each (rule, key) in it, as compared_candidates says."""
    output = StructType(
        [
            StructField("id_l", LongType()),
            StructField("id_r", LongType()),
            StructField("rule", IntegerType()),
            *[StructField(level_column(i), ByteType()) for i in range(column_count)],
            *[StructField(f"{name}_l", DoubleType()) for name in carried],
        ]
    )
    return jvm_frame(
        members,
        "io.gluelabeling.BlockComparison",
        "compare",
        output,
        rule_count,
        column_count,
        len(carried),
        linkage,
        CLOSE,
        SIMILAR,
    )
