package io.gluelabeling;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * The rows of an open-addressing table's chosen slots, in slot order, each written when asked
 * for into one reused row (Spark copies a row it keeps): what ScoreExtremes returns of its
 * table.
 */
abstract class SlotRows implements Iterator<InternalRow> {
  private final UnsafeRowWriter writer;
  private final int slots;
  private int slot = -1; // the next chosen slot; -1 until the first is looked for

  SlotRows(int fields, int slots) {
    this.writer = new UnsafeRowWriter(fields);
    this.slots = slots;
  }

  /** Whether the slot's entry is a row. */
  abstract boolean chosen(int slot);

  /** The slot's entry into the row's fields. */
  abstract void write(UnsafeRowWriter writer, int slot);

  @Override
  public final boolean hasNext() {
    if (slot < 0) {
      slot = nextChosen(0);
    }
    return slot < slots;
  }

  @Override
  public final InternalRow next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    writer.reset();
    write(writer, slot);
    slot = nextChosen(slot + 1);
    return writer.getRow();
  }

  private int nextChosen(int from) {
    while (from < slots && !chosen(from)) {
      from++;
    }
    return from;
  }
}
