package io.gluelabeling;

import java.util.Iterator;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * The values of a bigint column that two or more rows hold, once each (compare.shared_blocks:
 * the blocks of more than one record). In: rows whose first field is the value, every row of a
 * value in one partition. Out: one-field rows, the values held more than once.
 *
 * <p>Each partition's values are counted in an open-addressing table of primitives: a value and
 * whether it was seen once or again. Spark's hash aggregation did the same counting with a row
 * per group in both a partial and a final aggregation, and of the 11M block entries of 1M
 * generated person records 10.2M are distinct, so the partial one saved nothing.
 */
public final class RepeatedValues implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final byte EMPTY = 0;
  private static final byte ONCE = 1;
  private static final byte REPEATED = 2;
  private static final int INITIAL_SLOTS = 1 << 16;

  public static RDD<InternalRow> repeated(RDD<InternalRow> partitioned) {
    return partitioned.toJavaRDD().mapPartitions(new RepeatedValues()).rdd();
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> input) {
    Counts counts = new Counts();
    while (input.hasNext()) {
      counts.add(input.next().getLong(0));
    }
    return counts.repeated();
  }

  /** Which values a partition holds, and whether more than once; half full at most. */
  private static final class Counts {
    private long[] values = new long[INITIAL_SLOTS];
    private byte[] states = new byte[INITIAL_SLOTS];
    private int held;

    /** A value's first slot. Mixed: block numbers are hashes already, but a test's are not. */
    private static int slotOf(long value, int mask) {
      return (int) MinHashBandKeys.mix(value) & mask;
    }

    void add(long value) {
      int mask = states.length - 1;
      int slot = slotOf(value, mask);
      while (states[slot] != EMPTY) {
        if (values[slot] == value) {
          states[slot] = REPEATED;
          return;
        }
        slot = (slot + 1) & mask;
      }
      values[slot] = value;
      states[slot] = ONCE;
      if (++held * 2 > states.length) {
        grow();
      }
    }

    private void grow() {
      long[] oldValues = values;
      byte[] oldStates = states;
      values = new long[oldValues.length * 2];
      states = new byte[oldStates.length * 2];
      int mask = states.length - 1;
      for (int i = 0; i < oldStates.length; i++) {
        if (oldStates[i] != EMPTY) {
          int slot = slotOf(oldValues[i], mask);
          while (states[slot] != EMPTY) {
            slot = (slot + 1) & mask;
          }
          values[slot] = oldValues[i];
          states[slot] = oldStates[i];
        }
      }
    }

    /** The values seen more than once. */
    Iterator<InternalRow> repeated() {
      return new SlotRows(1, states.length) {
        @Override
        boolean chosen(int slot) {
          return states[slot] == REPEATED;
        }

        @Override
        void write(UnsafeRowWriter writer, int slot) {
          writer.write(0, values[slot]);
        }
      };
    }
  }
}
