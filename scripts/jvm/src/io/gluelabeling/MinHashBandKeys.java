package io.gluelabeling;

import java.util.Arrays;
import org.apache.spark.sql.api.java.UDF3;

/**
 * MinHash band keys of a record (minhash.py describes the scheme and its properties): its
 * texts, one per compared column in order, joined by U+001F (normalized text never holds it),
 * the number of bands and the values per band in; `bands` 64-bit keys out, or null when no text
 * has a gram. Grams are read from the UTF-8 bytes as they are encoded, so nothing is allocated
 * but the keys. It replaced a numpy pandas UDF whose Arrow round trip cost several times the
 * hashing (minhash.py says how much).
 */
public final class MinHashBandKeys implements UDF3<String, Integer, Integer, long[]> {
  private static final char TEXT_SEPARATOR = '\u001f';
  private static final int GRAM_LENGTH = 3;
  private static final long GRAM_MASK = (1L << (8 * GRAM_LENGTH)) - 1;
  private static final long EMPTY = Long.MAX_VALUE;
  private static final long LOW_32 = 0xFFFFFFFFL;

  // Reused between calls (Spark calls one instance from one task thread): the smallest value
  // of each bin, and the bins after densification.
  private long[] minimum = new long[0];
  private long[] signature = new long[0];
  // The gram being read: (text position + 1) above its bytes, the last GRAM_LENGTH bytes, and
  // how many bytes of the current text have been read.
  private long tag;
  private long window;
  private int bytes;

  /**
   * splitmix64's finalizer: every output bit depends on every input bit (ScoreExtremes hashes
   * with it too).
   */
  static long mix(long value) {
    value = (value ^ (value >>> 30)) * 0xBF58476D1CE4E5B9L;
    value = (value ^ (value >>> 27)) * 0x94D049BB133111EBL;
    return value ^ (value >>> 31);
  }

  @Override
  public long[] call(String texts, Integer bands, Integer width) {
    if (texts == null) {
      return null;
    }
    int bins = bands * width;
    if (minimum.length != bins) {
      minimum = new long[bins];
      signature = new long[bins];
    }
    Arrays.fill(minimum, EMPTY);
    boolean any = false;
    tag = 1L << (8 * GRAM_LENGTH);
    window = 0;
    bytes = 0;
    int length = texts.length();
    for (int i = 0; i < length; i++) {
      char c = texts.charAt(i);
      if (c == TEXT_SEPARATOR) {
        any |= endText();
      } else if (c < 0x80) {
        add(c);
      } else if (c < 0x800) {
        add(0xC0 | (c >>> 6));
        add(0x80 | (c & 0x3F));
      } else if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(texts.charAt(i + 1))) {
        int codePoint = Character.toCodePoint(c, texts.charAt(++i));
        add(0xF0 | (codePoint >>> 18));
        add(0x80 | ((codePoint >>> 12) & 0x3F));
        add(0x80 | ((codePoint >>> 6) & 0x3F));
        add(0x80 | (codePoint & 0x3F));
      } else {
        add(0xE0 | (c >>> 12));
        add(0x80 | ((c >>> 6) & 0x3F));
        add(0x80 | (c & 0x3F));
      }
    }
    any |= endText();
    if (!any) {
      return null;
    }
    densify(minimum, signature);
    long[] keys = new long[bands];
    for (int band = 0; band < bands; band++) {
      long combined = 0;
      for (int position = 0; position < width; position++) {
        combined = mix(combined ^ signature[band * width + position]);
      }
      keys[band] = combined;
    }
    return keys;
  }

  /**
   * Each empty bin takes the value of the nearest non-empty bin to its right (cyclically), plus
   * 2**32 per step, so a borrowed value never equals an own one. `minimum` has a value.
   */
  private static void densify(long[] minimum, long[] signature) {
    int bins = minimum.length;
    int next = 0; // the nearest non-empty bin at or to the right of `bin`, cyclically
    while (minimum[next] == EMPTY) {
      next++;
    }
    for (int bin = bins - 1; bin >= 0; bin--) {
      if (minimum[bin] != EMPTY) {
        next = bin;
        signature[bin] = minimum[bin];
      } else {
        int distance = next > bin ? next - bin : next + bins - bin;
        signature[bin] = minimum[next] + ((long) distance << 32);
      }
    }
  }

  /** The next UTF-8 byte of the current text; hashes the gram it completes. */
  private void add(int utf8Byte) {
    window = ((window << 8) | utf8Byte) & GRAM_MASK;
    if (++bytes >= GRAM_LENGTH) {
      hash(window);
    }
  }

  /**
   * Ends the current text (a text shorter than a gram is one gram, padded with zero bytes) and
   * moves to the next column's tag; true when the text had a gram.
   */
  private boolean endText() {
    boolean hadGram = bytes > 0;
    if (hadGram && bytes < GRAM_LENGTH) {
      hash(window << (8 * (GRAM_LENGTH - bytes)));
    }
    tag += 1L << (8 * GRAM_LENGTH);
    window = 0;
    bytes = 0;
    return hadGram;
  }

  /** One-permutation hashing: the hash's high bits choose the bin, which keeps its smallest low bits. */
  private void hash(long gram) {
    long hashed = mix(tag | gram);
    int bin = (int) (((hashed >>> 32) * minimum.length) >>> 32);
    minimum[bin] = Math.min(minimum[bin], hashed & LOW_32);
  }
}
