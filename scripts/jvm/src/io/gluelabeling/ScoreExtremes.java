package io.gluelabeling;

import java.util.Iterator;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * Per record, the extremes of its pairs' scores (sample.py ranks records by them): the distance
 * of the score nearest a threshold, and the highest score. In: (record bigint, score double)
 * rows, every row of a record in one partition. Out: (record, distance, best) once per record.
 *
 * <p>Each partition's records are kept in an open-addressing table of primitives. Spark's hash
 * aggregation kept a row per record in both a partial and a final aggregation, and the partial
 * one saved little: 1M generated person records' 5.8M pairs have 11.6M ends on about 1M records.
 */
public final class ScoreExtremes implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final int INITIAL_SLOTS = 1 << 16;

  private final double threshold;

  private ScoreExtremes(double threshold) {
    this.threshold = threshold;
  }

  public static RDD<InternalRow> extremes(RDD<InternalRow> partitioned, double threshold) {
    return partitioned.toJavaRDD().mapPartitions(new ScoreExtremes(threshold)).rdd();
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> input) {
    Table table = new Table();
    while (input.hasNext()) {
      InternalRow row = input.next();
      double score = row.getDouble(1);
      table.add(row.getLong(0), Math.abs(score - threshold), score);
    }
    return table.rows();
  }

  /** Records and their extremes so far; half full at most. */
  private static final class Table {
    private long[] records = new long[INITIAL_SLOTS];
    private double[] distances = new double[INITIAL_SLOTS];
    private double[] bests = new double[INITIAL_SLOTS];
    private boolean[] used = new boolean[INITIAL_SLOTS];
    private int held;

    private static int slotOf(long record, int mask) {
      return (int) MinHashBandKeys.mix(record) & mask;
    }

    void add(long record, double distance, double score) {
      int mask = used.length - 1;
      int slot = slotOf(record, mask);
      while (used[slot]) {
        if (records[slot] == record) {
          distances[slot] = Math.min(distances[slot], distance);
          bests[slot] = Math.max(bests[slot], score);
          return;
        }
        slot = (slot + 1) & mask;
      }
      used[slot] = true;
      records[slot] = record;
      distances[slot] = distance;
      bests[slot] = score;
      if (++held * 2 > used.length) {
        grow();
      }
    }

    private void grow() {
      long[] oldRecords = records;
      double[] oldDistances = distances;
      double[] oldBests = bests;
      boolean[] oldUsed = used;
      records = new long[oldRecords.length * 2];
      distances = new double[oldRecords.length * 2];
      bests = new double[oldRecords.length * 2];
      used = new boolean[oldRecords.length * 2];
      int mask = used.length - 1;
      for (int i = 0; i < oldUsed.length; i++) {
        if (oldUsed[i]) {
          int slot = slotOf(oldRecords[i], mask);
          while (used[slot]) {
            slot = (slot + 1) & mask;
          }
          used[slot] = true;
          records[slot] = oldRecords[i];
          distances[slot] = oldDistances[i];
          bests[slot] = oldBests[i];
        }
      }
    }

    /** Every record once. */
    Iterator<InternalRow> rows() {
      return new SlotRows(3, used.length) {
        @Override
        boolean chosen(int slot) {
          return used[slot];
        }

        @Override
        void write(UnsafeRowWriter writer, int slot) {
          writer.write(0, records[slot]);
          writer.write(1, distances[slot]);
          writer.write(2, bests[slot]);
        }
      };
    }
  }
}
