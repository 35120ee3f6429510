package io.gluelabeling;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * Candidate pairs with their comparison levels, made inside each block (block.py and
 * fellegi_sunter.py describe both). The input is one row per record and block of more than one
 * record (BlockEntries), every row of a block number together and in a run: (block long, rule
 * int, record binary: PackedRecord). Out: (id_l, id_r, rule, a level byte per compared column,
 * the left record's carried columns) for every pair of the block that no earlier rule finds
 * too, so each candidate pair comes out once, under the first rule that finds it. Two records
 * of one rule and block number are in one block: two keys whose 64-bit numbers collide would
 * pair their records, at odds of about 2^-64 per pair of blocks.
 *
 * <p>Comparing where the block's records already are replaces a join of every pair back to its
 * two records. It works on Spark's internal rows (compare.py hands it the plan's RDD and makes a
 * DataFrame of what it returns): the Row API boxed every field of the 4.3M input rows and of the
 * 5.8M pairs of 1M records, and without it the comparison job took 9.7-9.9 s against
 * 10.9-11.0 s. A text is turned into a Java string only when a pair's two differ, once per
 * record and block.
 */
public final class BlockComparison implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final byte NULL_LEVEL = -1;
  private static final byte EXACT = 3;

  private static final int BLOCK = 0;
  private static final int RULE = 1;
  private static final int RECORD = 2;

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

  /** `entries` with every block's rows in one partition, in a run (compare.py sorts them so). */
  public static RDD<InternalRow> compare(
      RDD<InternalRow> entries,
      int rules,
      int columns,
      int carried,
      boolean linkage,
      double close,
      double similar) {
    return entries
        .toJavaRDD()
        .mapPartitions(new BlockComparison(rules, columns, carried, linkage, close, similar))
        .rdd();
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> input) {
    return new Pairs(input);
  }

  /**
   * The pairs of one block after another, each written when it is asked for into one reused
   * UnsafeRow (Spark copies a row it keeps).
   */
  private final class Pairs implements Iterator<InternalRow> {
    private final Iterator<InternalRow> input;
    // Per column, the Jaro-Winkler masks of the text of patternOf[column]: a block's pairs are
    // made member by member, the member with each later one, so its masks serve them all.
    private final JaroWinklerSimilarity.Pattern[] patterns;
    private final PackedRecord[] patternOf;
    private final UnsafeRowWriter writer;
    // The block's members and the rule each entered it by.
    private final List<PackedRecord> members = new ArrayList<>();
    private final List<Integer> memberRules = new ArrayList<>();
    // The row after the block, read but not yet in one; null at the partition's end.
    private InternalRow next;
    // Whether `next` has been read: not before the first pair is asked for, so that a partition
    // whose pairs no one asks for is neither read nor sorted (Partitions.first).
    private boolean started;
    // The next pair (i, j) of the block to look at.
    private int i;
    private int j;
    private boolean pairReady;

    Pairs(Iterator<InternalRow> input) {
      this.input = input;
      this.writer = new UnsafeRowWriter(3 + columns + carried);
      this.patterns = new JaroWinklerSimilarity.Pattern[columns];
      for (int c = 0; c < columns; c++) {
        patterns[c] = new JaroWinklerSimilarity.Pattern();
      }
      this.patternOf = new PackedRecord[columns];
    }

    @Override
    public boolean hasNext() {
      if (!started) {
        next = input.hasNext() ? input.next() : null;
        started = true;
      }
      while (!pairReady) {
        if (!advance()) {
          if (next == null) {
            return false;
          }
          readBlock();
        }
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      pairReady = false;
      return writer.getRow();
    }

    /**
     * The rows of one block number: one block, or several of different rules whose numbers
     * collide. toRdd's rows may be one reused buffer, so each row's fields are read before the
     * next row is (getBinary copies the record).
     */
    private void readBlock() {
      members.clear();
      memberRules.clear();
      long number = next.getLong(BLOCK);
      while (next != null && next.getLong(BLOCK) == number) {
        memberRules.add(next.getInt(RULE));
        members.add(new PackedRecord(next.getBinary(RECORD), rules, columns));
        next = input.hasNext() ? input.next() : null;
      }
      i = 0;
      j = 1;
    }

    /** Moves (i, j) through the block to its next pair and writes it; false at the block's end. */
    private boolean advance() {
      int size = members.size();
      while (i < size - 1) {
        int a = i;
        int b = j;
        if (++j >= size) {
          i++;
          j = i + 1;
        }
        if (isPair(a, b)) {
          return pairReady = true;
        }
      }
      return false;
    }

    /** Whether members a and b make a candidate pair of this rule, written if they do. */
    private boolean isPair(int a, int b) {
      int rule = memberRules.get(a);
      if (memberRules.get(b) != rule) {
        return false; // a block of another rule whose number collides: not a pair
      }
      PackedRecord first = members.get(a);
      PackedRecord second = members.get(b);
      boolean firstLeft;
      if (linkage) {
        if (first.source == second.source) {
          return false;
        }
        firstLeft = first.source == 0;
      } else {
        firstLeft = first.id < second.id;
      }
      PackedRecord left = firstLeft ? first : second;
      PackedRecord right = firstLeft ? second : first;
      if (foundEarlier(left, right, rule)) {
        return false;
      }
      write(left, right, rule, first, second);
      return true;
    }

    /** Whether a rule before `rule` puts both records in one block: it finds the pair. */
    private boolean foundEarlier(PackedRecord left, PackedRecord right, int rule) {
      for (int earlier = 0; earlier < rule; earlier++) {
        if (left.sharesBlock(right, earlier)) {
          return true;
        }
      }
      return false;
    }

    /** The pair (left, right), its levels compared from `member` (the block's earlier) to `other`. */
    private void write(PackedRecord left, PackedRecord right, int rule, PackedRecord member, PackedRecord other) {
      writer.reset();
      writer.zeroOutNullBytes();
      writer.write(0, left.id);
      writer.write(1, right.id);
      writer.write(2, rule);
      for (int c = 0; c < columns; c++) {
        writer.write(3 + c, level(member, other, c));
      }
      for (int c = 0; c < carried; c++) {
        double value = left.carried(c);
        if (Double.isNaN(value)) {
          writer.setNullAt(3 + columns + c);
        } else {
          writer.write(3 + columns + c, value);
        }
      }
    }

    /**
     * fellegi_sunter.comparison_level of the two records' texts' Jaro-Winkler similarity (the
     * same either way round), with the masks of `member`'s text.
     */
    private byte level(PackedRecord member, PackedRecord other, int column) {
      if (member.isNull(column) || other.isNull(column)) {
        return NULL_LEVEL;
      }
      if (member.sameText(other, column)) {
        return EXACT;
      }
      if (patternOf[column] != member) {
        patterns[column].set(member.text(column));
        patternOf[column] = member;
      }
      double similarity = patterns[column].similarityTo(other.text(column));
      return similarity >= close ? (byte) 2 : similarity >= similar ? (byte) 1 : (byte) 0;
    }
  }
}
