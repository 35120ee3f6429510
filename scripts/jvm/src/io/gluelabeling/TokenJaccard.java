package io.gluelabeling;

import org.apache.spark.sql.api.java.UDF2;

/**
 * Jaccard similarity of the sets of space-separated words of two normalized strings (1.0 for
 * equal strings), null when either is null. Values hold a handful of words, so the sets are
 * compared with nested loops over the split arrays: no hashing, no collections.
 */
// Spark finds a UDF's interface among the class's own, not inherited ones: hence the implements.
public final class TokenJaccard extends StringSimilarity implements UDF2<String, String, Double> {
  @Override
  double similarity(String left, String right, long[] positions) {
    String[] leftWords = distinct(left.split(" "));
    String[] rightWords = distinct(right.split(" "));
    int shared = 0;
    for (String word : leftWords) {
      for (String other : rightWords) {
        if (word.equals(other)) {
          shared++;
          break;
        }
      }
    }
    return (double) shared / (leftWords.length + rightWords.length - shared);
  }

  /** The words, each once, in first-seen order (the array is reused). */
  private static String[] distinct(String[] words) {
    int kept = 0;
    outer:
    for (String word : words) {
      for (int k = 0; k < kept; k++) {
        if (words[k].equals(word)) {
          continue outer;
        }
      }
      words[kept++] = word;
    }
    return kept == words.length ? words : java.util.Arrays.copyOf(words, kept);
  }
}
