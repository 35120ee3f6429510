package io.gluelabeling;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * Each record once per block of more than one record it is in (compare.py): in, rows of (id
 * long, source int, a block number per rule as bigint, null where the rule gives the record no
 * key, the compared columns as strings, the carried columns as doubles); out, rows of (block
 * long, rule int, record binary: PackedRecord), for the blocks a Bloom filter of the blocks of
 * more than one record (compare.shared_blocks) may hold. A false positive only sends a record to
 * a block it is alone in, which makes no pair; the record lists the same blocks, so that
 * BlockComparison can tell whether an earlier rule pairs two records (two records in one block
 * are in a block of more than one record, which the filter holds).
 *
 * <p>It replaced Spark exploding every record into a row per rule, its compared and carried
 * columns and every rule's key copied into each, and a broadcast semi join on the block
 * numbers: on 1M generated person records the 11M rows went through a join to keep 4.3M, and
 * the 1 GB shuffle of their fields was most of the block stage.
 */
public final class BlockEntries implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private final Broadcast<BlockFilter> shared;
  private final int rules;
  private final int columns;
  private final int carried;

  private BlockEntries(Broadcast<BlockFilter> shared, int rules, int columns, int carried) {
    if (rules > PackedRecord.MAX_RULES) {
      throw new IllegalArgumentException(
          "at most " + PackedRecord.MAX_RULES + " blocking rules, not " + rules);
    }
    this.shared = shared;
    this.rules = rules;
    this.columns = columns;
    this.carried = carried;
  }

  public static RDD<InternalRow> entries(
      RDD<InternalRow> records, Broadcast<BlockFilter> shared, int rules, int columns, int carried) {
    return records
        .toJavaRDD()
        .mapPartitions(new BlockEntries(shared, rules, columns, carried))
        .rdd();
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> input) {
    return new Entries(input, shared.value());
  }

  /** A record's entries one after another, each written into one reused UnsafeRow. */
  private final class Entries implements Iterator<InternalRow> {
    private final Iterator<InternalRow> input;
    private final BlockFilter filter;
    private final UnsafeRowWriter writer = new UnsafeRowWriter(3);
    private final int[] rulesListed = new int[rules];
    private final long[] blocksListed = new long[rules];
    private int count;
    private int emitted;
    private byte[] record;

    Entries(Iterator<InternalRow> input, BlockFilter filter) {
      this.input = input;
      this.filter = filter;
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
        record = PackedRecord.pack(row, rules, columns, carried, rulesListed, count);
      }
    }
  }
}
