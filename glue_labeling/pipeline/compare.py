"""Compare: every candidate pair with its comparison levels, made where the pair's block is.

Blocking (block.py) gives each record a key per rule; two records are candidates when a rule
gives them the same key, and a pair belongs to the first rule that finds it. The unsupervised
model (fellegi_sunter.py) reads each pair's comparison level per column, which needs both
records' columns side by side. Both happen in one shuffle:

  1. every (rule, key) becomes a 64-bit block number, and the blocks of more than one record
     go into a Bloom filter, made in one pass over the records without moving them
     (SharedBlocks.java; most keys of a near-unique column or a MinHash band are held by one
     record);
  2. each record goes, packed into one byte string with its compared columns, the term
     frequencies of its values (looked up on the way, fellegi_sunter.TermFrequencies) and its
     block numbers the filter holds, to the partition of each such block (BlockEntries.java),
     the block's records next to one another;
  3. there a JVM function (scripts/jvm/src, BlockComparison.java) makes the block's pairs, drops
     those an earlier rule finds too (both records list that rule's block), and compares each
     pair's columns: the level of fellegi_sunter.comparison_level, from the same Jaro-Winkler.

It replaced a self-join of the (rule, key) entries, a shuffle of the raw pairs to keep each
once, and two joins of every pair back to its records, each of which converted both records'
strings for every pair. On 1M generated person records (11 rules, 5.8M candidate pairs), side by
side: the block and score stages took 40.9 s against 48.3 s (the whole run 89.6 s against 96.9 s);
on 100k records 12.5-13.0 s against 13.8-14.2 s.
"""

from __future__ import annotations

import math

from py4j.java_gateway import JavaObject
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, ByteType, DoubleType, IntegerType, LongType, StructField, StructType

from glue_labeling.pipeline import RECORD_ID, SOURCE
from glue_labeling.pipeline.block import BlockingRule, key_column, with_rule_keys, without_oversized
from glue_labeling.pipeline.fellegi_sunter import CLOSE, SIMILAR, TermFrequencies, level_column
from glue_labeling.pipeline.jvm import jvm_call, jvm_frame, within_task_results
from glue_labeling.pipeline.normalize import comparison_column

# Block entries (record, rule) per partition of the comparison: a partition's records are
# sorted by block before their pairs are made.
ENTRIES_PER_PARTITION = 1_000_000
# The rate at which the filters of SharedBlocks.java, sized for one block number per record and
# rule, let a number through that they do not hold: at 1M generated person records (11 rules)
# each is 13 MB, and a task holds two. Past SHARED_BLOCKS_MAX_NUMBERS they are sized for that
# many (240 MB each) and let more through: each false positive ships a record to a block where
# it is alone, which costs shuffle but loses no pair.
SHARED_BLOCKS_FALSE_POSITIVES = 0.01
SHARED_BLOCKS_MAX_NUMBERS = 200_000_000
MEMBERS_SCHEMA = StructType(
    [StructField("block", LongType()), StructField("rule", IntegerType()), StructField("record", BinaryType())]
)


def compared_candidates(
    records: DataFrame,
    rules: list[BlockingRule],
    oversized: list[tuple[int, int]],
    column_count: int,
    frequencies: TermFrequencies,
    linkage: bool,
    rows: int,
) -> DataFrame:
    """(id_l, id_r, rule, `_gl_lvl<i>` as bytes, and `<name>_l` for each of `frequencies`'
    carried columns: the left record's term frequencies): each candidate pair once, under the
    first rule that finds it. Dedup: id_l < id_r; linkage: the record of table 0 left, table 1
    right. `records`: normalized, with RECORD_ID, SOURCE and what the rules' keys read
    (BAND_KEYS); the blocks `oversized` (rule, key) make no pairs and find none. `rows`: the
    records."""
    compared = tuple(comparison_column(i) for i in range(column_count))
    carried = (*compared, *frequencies.key_names())
    keyed = with_rule_keys(records.select("*", *frequencies.key_columns()), rules, carried)
    numbered = block_numbers(keyed, oversized, len(rules))
    shared = shared_blocks(numbered, len(rules), rows)
    members = block_members(numbered, len(rules), compared, frequencies, shared)
    # A multiple of the shuffle partitions (the task slots, locally): at 1M generated records
    # 11 partitions on two cores left one core idle for the last task's 1.5 s.
    slots = int(records.sparkSession.conf.get("spark.sql.shuffle.partitions") or 1)
    partitions = slots * max(1, math.ceil(rows * len(rules) / ENTRIES_PER_PARTITION / slots))
    # Partitioned by block, so a block's records are in one partition; sorted, so they are a run.
    # Sorted on the block's number alone: one long column is radix-sorted on its prefix, where
    # (rule, key) compared every row of a rule in full (a quarter of the comparison's time at 1M
    # records).
    members = members.repartition(partitions, "block").sortWithinPartitions("block")
    return block_pairs(members, len(rules), column_count, frequencies.carried(), linkage)


def block_column(rule: int) -> str:
    """The column of a record's block number under the rule at this index."""
    return f"_gl_b{rule}"


def block_numbers(keyed: DataFrame, oversized: list[tuple[int, int]], rule_count: int) -> DataFrame:
    """`keyed` (block.with_rule_keys) with each rule's key replaced by its block number, one
    64-bit number per (rule, key), null where the rule gives the record no key or its block is
    `oversized`: a set of numbers is half the size of (rule, key) pairs."""
    keyed = without_oversized(keyed, oversized)
    keys = {key_column(rule): rule for rule in range(rule_count)}
    return keyed.select(
        *[
            F.when(F.col(name).isNotNull(), F.xxhash64(F.lit(keys[name]), name)).alias(block_column(keys[name]))
            if name in keys
            else F.col(name)
            for name in keyed.columns
        ]
    )


def shared_blocks(numbered: DataFrame, rule_count: int, rows: int) -> JavaObject:
    """A Bloom filter (BlockFilter.java, in the JVM) holding the number of every block two or
    more records of `numbered` (block_numbers) are in, and few others (SharedBlocks.java), sized
    for a number per record and rule, `rows` records."""
    numbers = numbered.select(*[block_column(rule) for rule in range(rule_count)])
    expected = min(max(rows * rule_count, 1), SHARED_BLOCKS_MAX_NUMBERS)
    filter_bytes = numbered.sparkSession._jvm.io.gluelabeling.BlockFilter.bytesFor(
        expected, SHARED_BLOCKS_FALSE_POSITIVES
    )
    return jvm_call(
        within_task_results(numbers, 2 * filter_bytes),  # a task returns its seen and seen-again filters
        "io.gluelabeling.SharedBlocks",
        "filter",
        rule_count,
        expected,
        SHARED_BLOCKS_FALSE_POSITIVES,
    )


def block_members(
    numbered: DataFrame, rule_count: int, compared: tuple[str, ...], frequencies: TermFrequencies, shared: JavaObject
) -> DataFrame:
    """MEMBERS_SCHEMA: each record of `numbered` (block_numbers, with the value keys of
    `frequencies`) once per block the `shared` filter holds (shared_blocks) that the record is
    in, carrying its term frequencies (BlockEntries.java)."""
    spark = numbered.sparkSession
    records = numbered.select(
        RECORD_ID, SOURCE, *[block_column(rule) for rule in range(rule_count)], *compared, *frequencies.key_names()
    )
    return jvm_frame(
        records,
        "io.gluelabeling.BlockEntries",
        "entries",
        MEMBERS_SCHEMA,
        spark._jsc.broadcast(shared),
        spark._jsc.broadcast(frequencies.table),
        rule_count,
        len(compared),
    )


def block_pairs(
    members: DataFrame, rule_count: int, column_count: int, carried: tuple[str, ...], linkage: bool
) -> DataFrame:
    """BlockComparison over `members` (block_members), each block number's rows in one
    partition and in a run. The pairs of each (rule, block) in it, as compared_candidates says."""
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
