package io.gluelabeling;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.Iterator;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * The unsupervised model's match probability of pairs from their comparison levels
 * (fellegi_sunter.FellegiSunterModel.with_match_score says what it adds up): the weights the
 * model packs, and the function that scores a partition of pairs with them. In: rows of (id_l
 * long, id_r long, rule int, a level byte per compared column, -1 for null, and the left
 * record's share of each term-frequency column, double, null where its value is). Out: (id_l,
 * id_r, rule, match_score double).
 *
 * <p>It replaced a Spark projection of the same sums (element_at of literal arrays per column,
 * CASE WHEN for the columns a rule fixes): at 1M generated records that generated projection
 * was 15% of the job that compares and scores the 5.8M candidate pairs (JFR). The arithmetic is
 * Spark's own (StrictMath's log and pow, the terms added in column order), so the scores are
 * the same doubles.
 */
public final class MatchWeights implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int EXACT = 3;
  // Per table row and column, a weight for each level from -1 (null or unobserved) to EXACT.
  private static final int WEIGHTS_PER_COLUMN = EXACT + 2;
  private static final double LOG_2 = StrictMath.log(2.0);

  private final int columns;
  private final int[] rowOfRule; // a pair's rule -> its row of the tables; other rules: row 0
  private final double[] priorLogOdds; // per row
  private final double[] weights; // (row * columns + column) * WEIGHTS_PER_COLUMN + level + 1
  private final int[] carriedOf; // per column: its term frequency among the carried, or -1
  private final double[] exactM; // per column
  private final double[] frequencyScale; // row * columns + column
  private final double floor;
  private final ObservedLevels observed;

  /**
   * The weights packed big-endian (fellegi_sunter.FellegiSunterModel.match_weights): ints
   * columns, rows, rule slots, then the row of each rule slot, then per column the index of its
   * carried term frequency or -1, then the exact rules as ObservedLevels reads them; then
   * doubles: each row's prior log-odds, the weights, per column m of the exact level, per row
   * and column the scale of the term frequency, and the frequencies' floor.
   */
  public static MatchWeights of(byte[] packed) {
    return new MatchWeights(ByteBuffer.wrap(packed));
  }

  private MatchWeights(ByteBuffer packed) {
    columns = packed.getInt();
    int rows = packed.getInt();
    int ruleSlots = packed.getInt();
    rowOfRule = ints(packed, ruleSlots);
    carriedOf = ints(packed, columns);
    observed = new ObservedLevels(packed, columns);
    priorLogOdds = doubles(packed, rows);
    weights = doubles(packed, rows * columns * WEIGHTS_PER_COLUMN);
    exactM = doubles(packed, columns);
    frequencyScale = doubles(packed, rows * columns);
    floor = packed.getDouble();
  }

  static int[] ints(ByteBuffer packed, int count) {
    int[] values = new int[count];
    for (int i = 0; i < count; i++) {
      values[i] = packed.getInt();
    }
    return values;
  }

  private static double[] doubles(ByteBuffer packed, int count) {
    double[] values = new double[count];
    for (int i = 0; i < count; i++) {
      values[i] = packed.getDouble();
    }
    return values;
  }

  /** The pairs of `pairs` (the class comment says which rows) with their match probability. */
  public static RDD<InternalRow> scores(RDD<InternalRow> pairs, MatchWeights weights, int carried) {
    return pairs.toJavaRDD().mapPartitions(rows -> weights.scored(rows, carried)).rdd();
  }

  private Iterator<InternalRow> scored(Iterator<InternalRow> rows, int carried) {
    byte[] levels = new byte[columns];
    double[] shares = new double[carried];
    int carriedAt = 3 + columns;
    return new MappedRows(rows, 4) {
      @Override
      void write(InternalRow row, UnsafeRowWriter writer) {
        int rule = row.getInt(2);
        for (int c = 0; c < columns; c++) {
          levels[c] = row.getByte(3 + c);
        }
        for (int c = 0; c < carried; c++) {
          shares[c] = row.isNullAt(carriedAt + c) ? Double.NaN : row.getDouble(carriedAt + c);
        }
        writer.write(0, row.getLong(0));
        writer.write(1, row.getLong(1));
        writer.write(2, rule);
        writer.write(3, probability(rule, levels, shares));
      }
    };
  }

  /** The match probability, 1 / (1 + 2**-weight), of a pair the rule found. */
  double probability(int rule, byte[] levels, double[] shares) {
    int row = rule >= 0 && rule < rowOfRule.length ? rowOfRule[rule] : 0;
    double total = priorLogOdds[row];
    for (int column = 0; column < columns; column++) {
      int level = observed.level(rule, levels, column);
      int carried = carriedOf[column];
      if (carried >= 0 && level == EXACT) {
        // The value's own frequency instead of the exact level's u, scaled as the rule's u is.
        double frequency = Math.max(shares[carried] * frequencyScale[row * columns + column], floor);
        total += StrictMath.log(exactM[column] / frequency) / LOG_2;
      } else {
        total += weights[(row * columns + column) * WEIGHTS_PER_COLUMN + level + 1];
      }
    }
    return 1.0 / (1.0 + StrictMath.pow(2.0, -total));
  }
}
