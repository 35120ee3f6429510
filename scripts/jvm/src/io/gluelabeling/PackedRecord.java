package io.gluelabeling;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * A record as the blocks' shuffle carries it to each of its blocks of more than one record
 * (BlockEntries writes it, BlockComparison reads it): one byte string instead of a row of
 * fields. As fields, the record's id, source, the block numbers of every rule, its compared
 * texts and its carried doubles took a row of 8 bytes per field before their values, and the
 * block numbers it was in alone (most of them) went along, 8 incompressible bytes each.
 *
 * <p>Layout: id (long), source (byte), the count of listed blocks (byte), each listed block as
 * its rule (byte) and number (long), in rule order; each compared text as its UTF-8 length (int,
 * -1 for null) and bytes; each carried column as a double (NaN for null: the carried term
 * frequencies are never NaN).
 */
final class PackedRecord {
  // An entry's rule is one byte, in the layout and in BlockComparison's arrays.
  static final int MAX_RULES = Byte.MAX_VALUE;

  final long id;
  final int source;
  // blockOf[rule] when listed[rule]: the record's block number under that rule.
  private final long[] blockOf;
  private final boolean[] listed;
  private final byte[] bytes;
  private final ByteBuffer buffer; // over `bytes`: decoded in order, then read by index
  private final int[] textAt; // where each compared text's bytes start; -1 for null
  private final int[] textLength;
  private final int carriedAt;
  private final String[] texts; // each compared text as a Java string, once asked for

  /**
   * The record of `row` (id long, source int, a block number per rule, compared strings) with
   * the blocks of the rules `rulesListed[0..count)` listed, and the `carried` doubles.
   */
  static byte[] pack(InternalRow row, int rules, int columns, double[] carried, int[] rulesListed, int count) {
    int size = 8 + 1 + 1 + 9 * count + 4 * columns + 8 * carried.length;
    int textsAt = 2 + rules;
    for (int c = 0; c < columns; c++) {
      if (!row.isNullAt(textsAt + c)) {
        size += row.getUTF8String(textsAt + c).numBytes();
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putLong(row.getLong(0)).put((byte) row.getInt(1)).put((byte) count);
    for (int i = 0; i < count; i++) {
      out.put((byte) rulesListed[i]).putLong(row.getLong(2 + rulesListed[i]));
    }
    for (int c = 0; c < columns; c++) {
      if (row.isNullAt(textsAt + c)) {
        out.putInt(-1);
      } else {
        UTF8String text = row.getUTF8String(textsAt + c);
        out.putInt(text.numBytes());
        text.writeTo(out);
      }
    }
    for (double value : carried) {
      out.putDouble(value);
    }
    return out.array();
  }

  PackedRecord(byte[] bytes, int rules, int columns) {
    this.bytes = bytes;
    buffer = ByteBuffer.wrap(bytes);
    id = buffer.getLong();
    source = buffer.get();
    int count = buffer.get();
    blockOf = new long[rules];
    listed = new boolean[rules];
    for (int i = 0; i < count; i++) {
      int rule = buffer.get();
      blockOf[rule] = buffer.getLong();
      listed[rule] = true;
    }
    textAt = new int[columns];
    textLength = new int[columns];
    for (int c = 0; c < columns; c++) {
      int length = buffer.getInt();
      textLength[c] = length;
      textAt[c] = length < 0 ? -1 : buffer.position();
      if (length > 0) {
        buffer.position(buffer.position() + length);
      }
    }
    carriedAt = buffer.position();
    texts = new String[columns];
  }

  /** Whether both records are in one block of this rule (a listed block has two records). */
  boolean sharesBlock(PackedRecord other, int rule) {
    return listed[rule] && other.listed[rule] && blockOf[rule] == other.blockOf[rule];
  }

  boolean isNull(int column) {
    return textAt[column] < 0;
  }

  boolean sameText(PackedRecord other, int column) {
    int from = textAt[column];
    int otherFrom = other.textAt[column];
    return Arrays.equals(
        bytes, from, from + textLength[column],
        other.bytes, otherFrom, otherFrom + other.textLength[column]);
  }

  String text(int column) {
    String text = texts[column];
    if (text == null) {
      text = new String(bytes, textAt[column], textLength[column], StandardCharsets.UTF_8);
      texts[column] = text;
    }
    return text;
  }

  /** The carried column's double; NaN for null. */
  double carried(int column) {
    return buffer.getDouble(carriedAt + 8 * column);
  }
}
