package io.gluelabeling;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The term frequencies of a record's values (fellegi_sunter.term_frequencies): the share of a
 * column's non-null values equal to the record's, from a table of the listed values' 64-bit keys
 * (a hash of the column and its value) to the records holding them, open addressing with linear
 * probing; a value not listed is held by `unlisted` records. BlockEntries looks each record's
 * values up as it packs the record.
 *
 * <p>It replaced a broadcast hash join of the listed values per term-frequency column: at 1M
 * generated person records the seven joins' lookups were a sixth of the job that ships the
 * records to their blocks, and each join copied every record's row once more.
 */
public final class TermFrequencies implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long[] keys;
  private final long[] counts; // 0: an empty slot (a listed value is held by at least one record)
  private final int mask;
  private final double[] nonNull; // per term-frequency column
  private final double unlisted;

  private TermFrequencies(int values, double[] nonNull, double unlisted) {
    int capacity = Integer.highestOneBit(Math.max(2 * values, 2) - 1) << 1;
    keys = new long[capacity];
    counts = new long[capacity];
    mask = capacity - 1;
    this.nonNull = nonNull;
    this.unlisted = unlisted;
  }

  /** No column has term frequencies. */
  public static TermFrequencies none() {
    return new TermFrequencies(0, new double[0], 0.0);
  }

  /**
   * The term frequencies of the columns with `nonNull` values each, from the listed values'
   * rows (value key long, count long), each key once.
   */
  public static TermFrequencies listed(RDD<InternalRow> values, double[] nonNull, double unlisted) {
    List<long[]> parts =
        values
            .toJavaRDD()
            .mapPartitions(rows -> Collections.singletonList(flattened(rows)).iterator())
            .collect();
    int total = 0;
    for (long[] part : parts) {
      total += part.length / 2;
    }
    TermFrequencies table = new TermFrequencies(total, nonNull, unlisted);
    for (long[] part : parts) {
      for (int i = 0; i < part.length; i += 2) {
        table.put(part[i], part[i + 1]);
      }
    }
    return table;
  }

  /** A partition's rows as key, count, key, count, ... */
  private static long[] flattened(Iterator<InternalRow> rows) {
    long[] flat = new long[1024];
    int size = 0;
    while (rows.hasNext()) {
      InternalRow row = rows.next();
      if (size == flat.length) {
        flat = Arrays.copyOf(flat, 2 * size);
      }
      flat[size++] = row.getLong(0);
      flat[size++] = row.getLong(1);
    }
    return Arrays.copyOf(flat, size);
  }

  private void put(long key, long count) {
    int slot = slot(key);
    while (counts[slot] != 0 && keys[slot] != key) {
      slot = (slot + 1) & mask;
    }
    keys[slot] = key;
    counts[slot] = count;
  }

  /** The columns with term frequencies. */
  int columns() {
    return nonNull.length;
  }

  /** The share of the column's non-null values equal to the one of this key. */
  double share(int column, long key) {
    return held(key) / nonNull[column];
  }

  private double held(long key) {
    int slot = slot(key);
    while (counts[slot] != 0) {
      if (keys[slot] == key) {
        return counts[slot];
      }
      slot = (slot + 1) & mask;
    }
    return unlisted;
  }

  /** The keys are hashes already, but their low bits index the table: mixed first all the same. */
  private int slot(long key) {
    return (int) BlockFilter.mixed(key) & mask;
  }
}
