package io.gluelabeling;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * Candidate pairs with their comparison levels, made inside each block (block.py and
 * fellegi_sunter.py describe both). The input is one row per record and blocking rule, every
 * row of a block number together and in a run: (block long, rule int, key long, id long, source
 * int, the record's keys of every rule as bigint columns, null where the record has none, its
 * compared columns as strings, its carried columns as doubles). Out: (id_l, id_r, rule, a level byte per compared
 * column, the left record's carried columns) for every pair of the block that no earlier rule
 * finds too, so each candidate pair comes out once, under the first rule that finds it.
 *
 * <p>Comparing where the block's records already are replaces a join of every pair back to its
 * two records, and each string is converted from Spark's form once per record and block, not
 * once per pair.
 */
public final class BlockComparison implements MapPartitionsFunction<Row, Row> {
  private static final byte NULL_LEVEL = -1;
  private static final byte EXACT = 3;

  private final int rules;
  private final int columns;
  private final int carried;
  private final boolean linkage;
  private final double close;
  private final double similar;

  private BlockComparison(
      int rules, int columns, int carried, boolean linkage, double close, double similar) {
    this.rules = rules;
    this.columns = columns;
    this.carried = carried;
    this.linkage = linkage;
    this.close = close;
    this.similar = similar;
  }

  /** `entries` with every block's rows in one partition, in a run (block.py sorts them so). */
  public static Dataset<Row> compare(
      Dataset<Row> entries,
      int rules,
      int columns,
      int carried,
      boolean linkage,
      double close,
      double similar,
      StructType output) {
    return entries.mapPartitions(
        new BlockComparison(rules, columns, carried, linkage, close, similar), Encoders.row(output));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    return new Pairs(input);
  }

  private static final int BLOCK = 0;
  private static final int RULE = 1;
  private static final int KEY = 2;
  private static final int ID = 3;
  private static final int SOURCE = 4;
  private static final int KEYS = 5;

  /** The pairs of one block after another, the block's pairs made when the block is read. */
  private final class Pairs implements Iterator<Row> {
    private final Iterator<Row> input;
    private final JaroWinklerSimilarity jaroWinkler = new JaroWinklerSimilarity();
    private final List<Row> block = new ArrayList<>();
    private Row next;
    private Iterator<Row> pending = Collections.emptyIterator();

    Pairs(Iterator<Row> input) {
      this.input = input;
      this.next = input.hasNext() ? input.next() : null;
    }

    @Override
    public boolean hasNext() {
      while (!pending.hasNext() && next != null) {
        pending = pairsOf(readBlock()).iterator();
      }
      return pending.hasNext();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return pending.next();
    }

    /** The rows of one block number: one block, or (rarely) several whose numbers collide. */
    private List<Row> readBlock() {
      block.clear();
      long number = next.getLong(BLOCK);
      while (next != null && next.getLong(BLOCK) == number) {
        block.add(next);
        next = input.hasNext() ? input.next() : null;
      }
      return block;
    }

    private List<Row> pairsOf(List<Row> members) {
      int size = members.size();
      if (size < 2) {
        return Collections.emptyList();
      }
      List<Row> pairs = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        Row a = members.get(i);
        int rule = a.getInt(RULE);
        long key = a.getLong(KEY);
        for (int j = i + 1; j < size; j++) {
          Row b = members.get(j);
          if (b.getInt(RULE) != rule || b.getLong(KEY) != key) {
            continue; // another block whose number collides: not a pair
          }
          Row left;
          Row right;
          if (linkage) {
            int sourceA = a.getInt(SOURCE);
            if (sourceA == b.getInt(SOURCE)) {
              continue;
            }
            left = sourceA == 0 ? a : b;
            right = sourceA == 0 ? b : a;
          } else {
            boolean ordered = a.getLong(ID) < b.getLong(ID);
            left = ordered ? a : b;
            right = ordered ? b : a;
          }
          if (!foundEarlier(left, right, rule)) {
            pairs.add(compared(left, right, rule));
          }
        }
      }
      return pairs;
    }

    /** Whether a rule before `rule` gives both records the same key: it finds the pair. */
    private boolean foundEarlier(Row left, Row right, int rule) {
      for (int earlier = 0; earlier < rule; earlier++) {
        int at = KEYS + earlier;
        if (!left.isNullAt(at) && !right.isNullAt(at) && left.getLong(at) == right.getLong(at)) {
          return true;
        }
      }
      return false;
    }

    private Row compared(Row left, Row right, int rule) {
      Object[] values = new Object[3 + columns + carried];
      values[0] = left.getLong(ID);
      values[1] = right.getLong(ID);
      values[2] = rule;
      int strings = KEYS + rules;
      for (int c = 0; c < columns; c++) {
        values[3 + c] = level(left.getString(strings + c), right.getString(strings + c));
      }
      int carriedAt = strings + columns;
      for (int c = 0; c < carried; c++) {
        values[3 + columns + c] = left.isNullAt(carriedAt + c) ? null : left.getDouble(carriedAt + c);
      }
      return RowFactory.create(values);
    }

    /** fellegi_sunter.comparison_level of the two texts' Jaro-Winkler similarity. */
    private byte level(String left, String right) {
      if (left == null || right == null) {
        return NULL_LEVEL;
      }
      if (left.equals(right)) {
        return EXACT;
      }
      double similarity = jaroWinkler.call(left, right);
      return similarity >= close ? (byte) 2 : similarity >= similar ? (byte) 1 : (byte) 0;
    }
  }
}
