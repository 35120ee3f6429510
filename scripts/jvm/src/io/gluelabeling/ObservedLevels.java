package io.gluelabeling;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * Each column's comparison level of a pair as the unsupervised model reads it
 * (fellegi_sunter.observed_levels says why): -1 when the rule that found the pair fixes the
 * column (its exact key makes its pairs agree there) and no exact rule that does not fix it
 * agrees on all its columns, else the level. EM is fitted on these levels (`levels`) and
 * MatchWeights scores with them.
 */
public final class ObservedLevels implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int EXACT = 3;

  // fixedBy[column][rule]: the rule's exact key makes its pairs agree on the column.
  private final boolean[][] fixedBy;
  // foundWithout[column]: the column sets of the exact rules not holding the column.
  private final int[][][] foundWithout;

  /**
   * The exact rules packed big-endian (fellegi_sunter.fixed_columns_packed): ints, their count,
   * then each as its rule, its column count and its columns.
   */
  public static ObservedLevels of(byte[] packed, int columns) {
    return new ObservedLevels(ByteBuffer.wrap(packed), columns);
  }

  ObservedLevels(ByteBuffer packed, int columns) {
    int exactRules = packed.getInt();
    int[] exactRule = new int[exactRules];
    int[][] exactColumns = new int[exactRules][];
    int ruleSlots = 0;
    for (int r = 0; r < exactRules; r++) {
      exactRule[r] = packed.getInt();
      exactColumns[r] = MatchWeights.ints(packed, packed.getInt());
      ruleSlots = Math.max(ruleSlots, exactRule[r] + 1);
    }
    fixedBy = new boolean[columns][ruleSlots];
    foundWithout = new int[columns][][];
    for (int column = 0; column < columns; column++) {
      List<int[]> without = new ArrayList<>();
      for (int r = 0; r < exactRules; r++) {
        if (holds(exactColumns[r], column)) {
          fixedBy[column][exactRule[r]] = true;
        } else {
          without.add(exactColumns[r]);
        }
      }
      foundWithout[column] = without.toArray(new int[0][]);
    }
  }

  /** Rows (rule int, a level byte per column) with each level as the model reads it. */
  public static RDD<InternalRow> levels(RDD<InternalRow> pairs, ObservedLevels observed, int columns) {
    return pairs.toJavaRDD().mapPartitions(rows -> observed.read(rows, columns)).rdd();
  }

  private Iterator<InternalRow> read(Iterator<InternalRow> rows, int columns) {
    byte[] levels = new byte[columns];
    return new MappedRows(rows, 1 + columns) {
      @Override
      void write(InternalRow row, UnsafeRowWriter writer) {
        int rule = row.getInt(0);
        for (int c = 0; c < columns; c++) {
          levels[c] = row.getByte(1 + c);
        }
        writer.write(0, rule);
        for (int c = 0; c < columns; c++) {
          writer.write(1 + c, (byte) level(rule, levels, c));
        }
      }
    };
  }

  /** The column's level as the model reads it. */
  int level(int rule, byte[] levels, int column) {
    boolean fixed = rule >= 0 && rule < fixedBy[column].length && fixedBy[column][rule];
    if (fixed) {
      for (int[] other : foundWithout[column]) {
        if (allExact(other, levels)) {
          return levels[column];
        }
      }
      return -1;
    }
    return levels[column];
  }

  private static boolean holds(int[] columns, int column) {
    for (int c : columns) {
      if (c == column) {
        return true;
      }
    }
    return false;
  }

  private static boolean allExact(int[] columns, byte[] levels) {
    for (int c : columns) {
      if (levels[c] != EXACT) {
        return false;
      }
    }
    return true;
  }
}
