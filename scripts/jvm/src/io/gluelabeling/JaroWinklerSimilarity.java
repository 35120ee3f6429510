package io.gluelabeling;

import org.apache.spark.sql.api.java.UDF2;

/**
 * Jaro-Winkler similarity of two strings, 1.0 for equal strings and null when either is null:
 * the same figure as rapidfuzz's JaroWinkler.normalized_similarity (prefix weight 0.1 over at
 * most 4 characters, applied when the Jaro similarity is above 0.7).
 *
 * <p>A JVM function rather than a Python UDF: moving every candidate pair's strings to Python
 * and back through Arrow cost more than the comparisons themselves. Two strings of up to 64
 * characters, the right one all below U+0100 (normalized text nearly always is), are matched
 * bit-parallel: the unmatched positions of a character within the window are one AND of 64-bit
 * masks, so a pair costs O(length) instead of O(length x window).
 */
// Spark finds a UDF's interface among the class's own, not inherited ones: hence the implements.
public final class JaroWinklerSimilarity extends StringSimilarity implements UDF2<String, String, Double> {
  private static final double PREFIX_WEIGHT = 0.1;
  private static final int MAX_PREFIX = 4;
  private static final double BOOST_THRESHOLD = 0.7;

  @Override
  double similarity(String left, String right, long[] positions) {
    if (left.length() <= Long.SIZE && mask(right, positions)) {
      double jaro = jaroMasked(left, right, positions);
      clear(positions, right, right.length());
      return winkler(jaro, left, right);
    }
    return winkler(jaro(left, right), left, right);
  }

  /**
   * Jaro-Winkler of one string against many others: its masks are made once (`set`), not once
   * per pair. In a block each member is compared with every later member, and making and
   * clearing the masks of one string was a good part of each comparison. The similarity is
   * symmetric, so the fixed string can stand on either side.
   */
  static final class Pattern {
    private final long[] positions = new long[BitParallel.ALPHABET];
    private String text = "";
    private boolean masked = true; // the empty text's masks: all zero

    /** Compare with `text` from now on. */
    void set(String text) {
      if (masked) {
        clear(positions, this.text, this.text.length());
      }
      this.text = text;
      masked = mask(text, positions);
    }

    /** Jaro-Winkler of `other` and the text set, both non-null and different. */
    double similarityTo(String other) {
      double jaro = masked && other.length() <= Long.SIZE ? jaroMasked(other, text, positions) : jaro(other, text);
      return winkler(jaro, other, text);
    }
  }

  /** Jaro's similarity with the common prefix's boost. */
  private static double winkler(double jaro, String left, String right) {
    if (jaro <= BOOST_THRESHOLD) {
      return jaro;
    }
    int limit = Math.min(MAX_PREFIX, Math.min(left.length(), right.length()));
    int prefix = 0;
    while (prefix < limit && left.charAt(prefix) == right.charAt(prefix)) {
      prefix++;
    }
    return jaro + prefix * PREFIX_WEIGHT * (1.0 - jaro);
  }

  private static int window(int leftLength, int rightLength) {
    return Math.max(0, Math.max(leftLength, rightLength) / 2 - 1);
  }

  private static double score(int matches, int transpositions, int leftLength, int rightLength) {
    if (matches == 0) {
      return 0.0;
    }
    double m = matches;
    return (m / leftLength + m / rightLength + (m - transpositions / 2) / m) / 3.0;
  }

  /**
   * Sets bit j of positions[c] for each character c at position j of `right`; false, with the
   * masks all zero again, when `right` does not fit them (over 64 characters, or one at or
   * beyond U+0100). Whether it fits is found while the masks are filled: a separate pass over
   * the strings to check them first took a fifth of the comparison's time (a profile at 1M
   * records).
   */
  private static boolean mask(String right, long[] positions) {
    int rightLength = right.length();
    if (rightLength > Long.SIZE) {
      return false;
    }
    for (int j = 0; j < rightLength; j++) {
      char c = right.charAt(j);
      if (c >= BitParallel.ALPHABET) {
        clear(positions, right, j);
        return false;
      }
      positions[c] |= 1L << j;
    }
    return true;
  }

  /**
   * The Jaro similarity of `left` (at most 64 characters) and `right`, whose masks `positions`
   * holds (mask). A character of `left` beyond U+00FF matches nothing in a `right` that fits.
   */
  private static double jaroMasked(String left, String right, long[] positions) {
    int leftLength = left.length();
    int rightLength = right.length();
    int window = window(leftLength, rightLength);
    long rightMatched = 0L;
    long leftMatched = 0L;
    int matches = 0;
    for (int i = 0; i < leftLength; i++) {
      int from = Math.max(0, i - window);
      int to = Math.min(rightLength - 1, i + window);
      if (from > to) {
        continue;
      }
      char c = left.charAt(i);
      long at = c < BitParallel.ALPHABET ? positions[c] : 0L;
      long candidates = at & BitParallel.range(from, to) & ~rightMatched;
      if (candidates != 0) {
        rightMatched |= Long.lowestOneBit(candidates);
        leftMatched |= 1L << i;
        matches++;
      }
    }
    int transpositions = 0;
    long rightRemaining = rightMatched;
    long leftRemaining = leftMatched;
    while (leftRemaining != 0) {
      int i = Long.numberOfTrailingZeros(leftRemaining);
      int j = Long.numberOfTrailingZeros(rightRemaining);
      if (left.charAt(i) != right.charAt(j)) {
        transpositions++;
      }
      leftRemaining &= leftRemaining - 1;
      rightRemaining &= rightRemaining - 1;
    }
    return score(matches, transpositions, leftLength, rightLength);
  }

  /** All zero again: the masks of right's first `length` characters. */
  private static void clear(long[] positions, String right, int length) {
    for (int j = 0; j < length; j++) {
      positions[right.charAt(j)] = 0L;
    }
  }

  static double jaro(String left, String right) {
    int leftLength = left.length();
    int rightLength = right.length();
    if (leftLength == 0 || rightLength == 0) {
      return leftLength == rightLength ? 1.0 : 0.0;
    }
    int window = window(leftLength, rightLength);
    boolean[] leftMatched = new boolean[leftLength];
    boolean[] rightMatched = new boolean[rightLength];
    int matches = 0;
    for (int i = 0; i < leftLength; i++) {
      int from = Math.max(0, i - window);
      int to = Math.min(rightLength - 1, i + window);
      char c = left.charAt(i);
      for (int j = from; j <= to; j++) {
        if (!rightMatched[j] && right.charAt(j) == c) {
          leftMatched[i] = true;
          rightMatched[j] = true;
          matches++;
          break;
        }
      }
    }
    int transpositions = 0;
    int j = 0;
    for (int i = 0; i < leftLength; i++) {
      if (leftMatched[i]) {
        while (!rightMatched[j]) {
          j++;
        }
        if (left.charAt(i) != right.charAt(j)) {
          transpositions++;
        }
        j++;
      }
    }
    return score(matches, transpositions, leftLength, rightLength);
  }
}
