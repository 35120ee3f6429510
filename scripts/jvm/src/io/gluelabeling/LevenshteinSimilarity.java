package io.gluelabeling;

import org.apache.spark.sql.api.java.UDF2;

/**
 * Levenshtein similarity, 1 - distance / longer length (1.0 for two empty strings), null when
 * either string is null: rapidfuzz's Levenshtein.normalized_similarity. When the shorter string
 * fits one 64-bit word (BitParallel.fits), the distance is Hyyrö's bit-parallel algorithm, as
 * rapidfuzz computes it: O(length) word operations instead of a length x length table.
 */
// Spark finds a UDF's interface among the class's own, not inherited ones: hence the implements.
public final class LevenshteinSimilarity extends StringSimilarity implements UDF2<String, String, Double> {
  @Override
  double similarity(String left, String right, long[] positions) {
    return 1.0 - (double) distance(left, right, positions) / Math.max(left.length(), right.length());
  }

  static int distance(String left, String right, long[] positions) {
    String pattern = left.length() <= right.length() ? left : right;
    String text = pattern == left ? right : left;
    if (pattern.isEmpty()) {
      return text.length();
    }
    if (BitParallel.fits(pattern)) {
      return hyyro(pattern, text, positions);
    }
    return table(pattern, text);
  }

  private static int hyyro(String pattern, String text, long[] positions) {
    int m = pattern.length();
    for (int i = 0; i < m; i++) {
      positions[pattern.charAt(i)] |= 1L << i;
    }
    long last = 1L << (m - 1);
    long vp = m == Long.SIZE ? -1L : (1L << m) - 1;
    long vn = 0L;
    int distance = m;
    for (int j = 0; j < text.length(); j++) {
      char c = text.charAt(j);
      long x = c < BitParallel.ALPHABET ? positions[c] : 0L; // not in the pattern: no position
      long d0 = (((x & vp) + vp) ^ vp) | x | vn;
      long hp = vn | ~(d0 | vp);
      long hn = d0 & vp;
      if ((hp & last) != 0) {
        distance++;
      }
      if ((hn & last) != 0) {
        distance--;
      }
      hp = (hp << 1) | 1L;
      hn = hn << 1;
      vp = hn | ~(d0 | hp);
      vn = hp & d0;
    }
    for (int i = 0; i < m; i++) {
      positions[pattern.charAt(i)] = 0L;
    }
    return distance;
  }

  private static int table(String pattern, String text) {
    int columns = pattern.length();
    int[] previous = new int[columns + 1];
    int[] current = new int[columns + 1];
    for (int j = 0; j <= columns; j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= text.length(); i++) {
      current[0] = i;
      char c = text.charAt(i - 1);
      for (int j = 1; j <= columns; j++) {
        int substitution = previous[j - 1] + (c == pattern.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[columns];
  }
}
