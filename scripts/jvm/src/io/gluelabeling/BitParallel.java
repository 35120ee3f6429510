package io.gluelabeling;

/** What the bit-parallel string algorithms share: one 64-bit word per character class. */
final class BitParallel {
  /** Characters below U+0100 index the per-character masks directly. */
  static final int ALPHABET = 256;

  private BitParallel() {}

  /** At most 64 characters, all below ALPHABET: one word holds a bit per position. */
  static boolean fits(String text) {
    if (text.length() > Long.SIZE) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) >= ALPHABET) {
        return false;
      }
    }
    return true;
  }

  /** Bits from..to (inclusive) set, 0 <= from <= to < 64. */
  static long range(int from, int to) {
    long upTo = to == Long.SIZE - 1 ? -1L : (1L << (to + 1)) - 1;
    return upTo & (-1L << from);
  }
}
