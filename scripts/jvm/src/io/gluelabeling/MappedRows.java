package io.gluelabeling;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;

/**
 * A row out for each row in, each written when asked for into one reused row (Spark copies a
 * row it keeps): what MatchWeights and ObservedLevels return of a partition.
 */
abstract class MappedRows implements Iterator<InternalRow> {
  private final Iterator<InternalRow> input;
  private final UnsafeRowWriter writer;

  MappedRows(Iterator<InternalRow> input, int fields) {
    this.input = input;
    this.writer = new UnsafeRowWriter(fields);
  }

  /** The fields of the row out of `row`. */
  abstract void write(InternalRow row, UnsafeRowWriter writer);

  @Override
  public final boolean hasNext() {
    return input.hasNext();
  }

  @Override
  public final InternalRow next() {
    if (!input.hasNext()) {
      throw new NoSuchElementException();
    }
    writer.reset();
    write(input.next(), writer);
    return writer.getRow();
  }
}
