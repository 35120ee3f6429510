package io.gluelabeling;

import org.apache.spark.sql.api.java.UDF2;

/**
 * A similarity of two strings as a Spark function: null when either string is null. Spark
 * deserializes one instance per task and calls it from that task's thread, so the scratch
 * masks of the bit-parallel algorithms live in the instance, allocated once.
 */
abstract class StringSimilarity implements UDF2<String, String, Double> {
  // Bit j of positions[c] set: character c is at position j. Left all zero between calls.
  private final long[] positions = new long[BitParallel.ALPHABET];

  @Override
  public final Double call(String left, String right) {
    if (left == null || right == null) {
      return null;
    }
    return similarityOf(left, right);
  }

  /** The similarity of two non-null strings, unboxed for callers in this package. */
  final double similarityOf(String left, String right) {
    return left.equals(right) ? 1.0 : similarity(left, right, positions);
  }

  /** The similarity of two different, non-null strings. */
  abstract double similarity(String left, String right, long[] positions);
}
