package io.gluelabeling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Candidate pairs with their comparison levels, made inside each block (block.py and
 * fellegi_sunter.py describe both). The input is one row per record and blocking rule, every
 * row of a block number together and in a run: (block long, rule int, key long, id long, source
 * int, the record's keys of every rule as bigint columns, null where the record has none, its
 * compared columns as strings, its carried columns as doubles). Out: (id_l, id_r, rule, a level
 * byte per compared column, the left record's carried columns) for every pair of the block that
 * no earlier rule finds too, so each candidate pair comes out once, under the first rule that
 * finds it.
 *
 * <p>Comparing where the block's records already are replaces a join of every pair back to its
 * two records. It works on Spark's internal rows (compare.py hands it the plan's RDD and makes a
 * DataFrame of what it returns): the Row API boxed every field of the 4.3M input rows and of the
 * 5.8M pairs of 1M records, and without it the comparison job took 9.7-9.9 s against
 * 10.9-11.0 s (its GC, 4-5 s either way, came from the checkpoint that then kept the pairs). A
 * string is turned into a Java string only when a pair's two differ, once per record and block.
 */
public final class BlockComparison implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final byte NULL_LEVEL = -1;
  private static final byte EXACT = 3;

  private static final int BLOCK = 0;
  private static final int RULE = 1;
  private static final int KEY = 2;
  private static final int ID = 3;
  private static final int SOURCE = 4;
  private static final int KEYS = 5;

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
    private final JaroWinklerSimilarity jaroWinkler = new JaroWinklerSimilarity();
    private final UnsafeRowWriter writer;
    private final List<InternalRow> block = new ArrayList<>();
    // texts[member * columns + column]: the member's text as a Java string, once converted.
    private String[] texts = new String[0];
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
    }

    @Override
    public boolean hasNext() {
      if (!started) {
        next = readNext();
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

    /** toRdd's rows may be one reused buffer: a row kept beyond the next read is copied. */
    private InternalRow readNext() {
      return input.hasNext() ? input.next().copy() : null;
    }

    /** The rows of one block number: one block, or (rarely) several whose numbers collide. */
    private void readBlock() {
      block.clear();
      long number = next.getLong(BLOCK);
      while (next != null && next.getLong(BLOCK) == number) {
        block.add(next);
        next = readNext();
      }
      int cells = block.size() * columns;
      if (texts.length < cells) {
        texts = new String[Math.max(cells, 2 * texts.length)];
      } else {
        Arrays.fill(texts, 0, cells, null);
      }
      i = 0;
      j = 1;
    }

    /** Moves (i, j) through the block to its next pair and writes it; false at the block's end. */
    private boolean advance() {
      int size = block.size();
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
      InternalRow first = block.get(a);
      InternalRow second = block.get(b);
      int rule = first.getInt(RULE);
      if (second.getInt(RULE) != rule || second.getLong(KEY) != first.getLong(KEY)) {
        return false; // another block whose number collides: not a pair
      }
      boolean firstLeft;
      if (linkage) {
        int source = first.getInt(SOURCE);
        if (source == second.getInt(SOURCE)) {
          return false;
        }
        firstLeft = source == 0;
      } else {
        firstLeft = first.getLong(ID) < second.getLong(ID);
      }
      int left = firstLeft ? a : b;
      int right = firstLeft ? b : a;
      if (foundEarlier(block.get(left), block.get(right), rule)) {
        return false;
      }
      write(left, right, rule);
      return true;
    }

    /** Whether a rule before `rule` gives both records the same key: it finds the pair. */
    private boolean foundEarlier(InternalRow left, InternalRow right, int rule) {
      for (int earlier = 0; earlier < rule; earlier++) {
        int at = KEYS + earlier;
        if (!left.isNullAt(at) && !right.isNullAt(at) && left.getLong(at) == right.getLong(at)) {
          return true;
        }
      }
      return false;
    }

    private void write(int leftMember, int rightMember, int rule) {
      InternalRow left = block.get(leftMember);
      InternalRow right = block.get(rightMember);
      writer.reset();
      writer.zeroOutNullBytes();
      writer.write(0, left.getLong(ID));
      writer.write(1, right.getLong(ID));
      writer.write(2, rule);
      for (int c = 0; c < columns; c++) {
        writer.write(3 + c, level(leftMember, rightMember, c));
      }
      int carriedAt = KEYS + rules + columns;
      for (int c = 0; c < carried; c++) {
        if (left.isNullAt(carriedAt + c)) {
          writer.setNullAt(3 + columns + c);
        } else {
          writer.write(3 + columns + c, left.getDouble(carriedAt + c));
        }
      }
    }

    /** fellegi_sunter.comparison_level of the two members' texts' Jaro-Winkler similarity. */
    private byte level(int leftMember, int rightMember, int column) {
      int at = KEYS + rules + column;
      InternalRow left = block.get(leftMember);
      InternalRow right = block.get(rightMember);
      if (left.isNullAt(at) || right.isNullAt(at)) {
        return NULL_LEVEL;
      }
      UTF8String leftText = left.getUTF8String(at);
      UTF8String rightText = right.getUTF8String(at);
      if (leftText.equals(rightText)) {
        return EXACT;
      }
      double similarity =
          jaroWinkler.similarityOf(
              text(leftMember, column, leftText), text(rightMember, column, rightText));
      return similarity >= close ? (byte) 2 : similarity >= similar ? (byte) 1 : (byte) 0;
    }

    private String text(int member, int column, UTF8String value) {
      int cell = member * columns + column;
      String text = texts[cell];
      if (text == null) {
        text = value.toString();
        texts[cell] = text;
      }
      return text;
    }
  }
}
