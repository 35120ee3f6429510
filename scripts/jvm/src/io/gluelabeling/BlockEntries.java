package io.gluelabeling;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * Each record once per block of more than one record it is in (compare.py). In: rows of (id
 * long, source int, a block number per rule as bigint, null where the rule gives the record no
 * key, the compared columns as strings, then the key of each term-frequency column's value,
 * null where the value is). Out: rows of (block long, rule int, record binary: PackedRecord),
 * for the blocks a Bloom filter of the blocks of more than one record (compare.shared_blocks)
 * may hold. A false positive only sends a record to a block it is alone in, which makes no pair;
 * the record lists the same blocks, so that BlockComparison can tell whether an earlier rule
 * pairs two records (two records in one block are in a block of more than one record, which the
 * filter holds). The record carries, per term-frequency column, the share of the column's
 * non-null values equal to its own (TermFrequencies), NaN where its value is null.
 *
 * <p>It replaced Spark exploding every record into a row per rule, its compared and carried
 * columns and every rule's key copied into each, and a broadcast semi join on the block
 * numbers: on 1M generated person records the 11M rows went through a join to keep 4.3M, and
 * the 1 GB shuffle of their fields was most of the block stage.
 */
public final class BlockEntries implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private final Broadcast<BlockFilter> shared;
  private final Broadcast<TermFrequencies> frequencies;
  private final int rules;
  private final int columns;

  private BlockEntries(
      Broadcast<BlockFilter> shared, Broadcast<TermFrequencies> frequencies, int rules, int columns) {
    if (rules > PackedRecord.MAX_RULES) {
      throw new IllegalArgumentException(
          "at most " + PackedRecord.MAX_RULES + " blocking rules, not " + rules);
    }
    this.shared = shared;
    this.frequencies = frequencies;
    this.rules = rules;
    this.columns = columns;
  }

  public static RDD<InternalRow> entries(
      RDD<InternalRow> records,
      Broadcast<BlockFilter> shared,
      Broadcast<TermFrequencies> frequencies,
      int rules,
      int columns) {
    return records.toJavaRDD().mapPartitions(new BlockEntries(shared, frequencies, rules, columns)).rdd();
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> input) {
    return new Entries(input, shared.value(), frequencies.value());
  }

  /** A record's entries one after another, each written into one reused UnsafeRow. */
  private final class Entries implements Iterator<InternalRow> {
    private final Iterator<InternalRow> input;
    private final BlockFilter filter;
    private final TermFrequencies frequencies;
    private final UnsafeRowWriter writer = new UnsafeRowWriter(3);
    private final int[] rulesListed = new int[rules];
    private final long[] blocksListed = new long[rules];
    private final double[] shares;
    private int count;
    private int emitted;
    private byte[] record;

    Entries(Iterator<InternalRow> input, BlockFilter filter, TermFrequencies frequencies) {
      this.input = input;
      this.filter = filter;
      this.frequencies = frequencies;
      this.shares = new double[frequencies.columns()];
    }

    @Override
    public boolean hasNext() {
      while (emitted == count) {
        if (!input.hasNext()) {
          return false;
        }
        read(input.next());
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      writer.reset();
      writer.zeroOutNullBytes();
      writer.write(0, blocksListed[emitted]);
      writer.write(1, rulesListed[emitted]);
      writer.write(2, record);
      emitted++;
      return writer.getRow();
    }

    private void read(InternalRow row) {
      count = 0;
      emitted = 0;
      for (int rule = 0; rule < rules; rule++) {
        if (!row.isNullAt(2 + rule)) {
          long block = row.getLong(2 + rule);
          if (filter.mightContain(block)) {
            rulesListed[count] = rule;
            blocksListed[count] = block;
            count++;
          }
        }
      }
      if (count > 0) {
        int keysAt = 2 + rules + columns;
        for (int c = 0; c < shares.length; c++) {
          shares[c] = row.isNullAt(keysAt + c) ? Double.NaN : frequencies.share(c, row.getLong(keysAt + c));
        }
        record = PackedRecord.pack(row, rules, columns, shares, rulesListed, count);
      }
    }
  }
}
