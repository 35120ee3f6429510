package io.gluelabeling;

import java.io.Serializable;

/**
 * A Bloom filter of 64-bit numbers, split into blocks of 256 bits (the split-block filter
 * Parquet specifies): a number's eight bits are all in one block, one in each of its eight
 * 32-bit words, so adding or looking up a number reads one cache line.
 *
 * <p>It replaced Spark's BloomFilter (org.apache.spark.util.sketch) in SharedBlocks and
 * BlockEntries, whose seven bits per number lie anywhere in the filter. At 1M generated person
 * records the filters are 13 MB, far larger than the caches, so each of the 11M block numbers
 * cost seven cache misses to add and seven to look up: Spark's filter was 90% of the time of
 * the job that makes the filter and 46% of the one that sends records to their blocks (a JFR
 * profile). Side by side, two runs each: the first job took 1.6 s against 2.9-3.6 s, the second
 * 5.6-7.6 s against 8.1-9.1 s.
 */
public final class BlockFilter implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int WORDS_PER_BLOCK = 8;
  private static final int BITS_PER_BLOCK = WORDS_PER_BLOCK * Integer.SIZE;
  // Parquet's salts: each turns the number's low 32 bits into the bit to set in one word.
  private static final int[] SALTS = {
    0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31
  };

  private final int[] words;
  private final long blocks;

  private BlockFilter(int blocks) {
    this.blocks = blocks;
    this.words = new int[blocks * WORDS_PER_BLOCK];
  }

  /**
   * An empty filter for `expected` numbers that lets through that rate of the numbers it does
   * not hold once it holds them all: -8 / ln(1 - rate^(1/8)) bits per number (9.7 at 1%).
   */
  public static BlockFilter sized(long expected, double falsePositives) {
    long blocks = blocksFor(expected, falsePositives);
    if (blocks > Integer.MAX_VALUE / WORDS_PER_BLOCK) {
      throw new IllegalArgumentException("a filter for " + expected + " numbers is too large");
    }
    return new BlockFilter((int) blocks);
  }

  /** The bytes of the filter `sized` makes for these arguments. */
  public static long bytesFor(long expected, double falsePositives) {
    return blocksFor(expected, falsePositives) * BITS_PER_BLOCK / Byte.SIZE;
  }

  private static long blocksFor(long expected, double falsePositives) {
    double bitsPerNumber = -WORDS_PER_BLOCK / Math.log(1.0 - Math.pow(falsePositives, 1.0 / WORDS_PER_BLOCK));
    return Math.max(1L, (long) Math.ceil(Math.max(expected, 1L) * bitsPerNumber / BITS_PER_BLOCK));
  }

  /** Adds `number`; whether the filter did not hold it already (some of its bits were unset). */
  public boolean put(long number) {
    long hash = mixed(number);
    int first = firstWord(hash);
    int key = (int) hash;
    int unset = 0;
    for (int i = 0; i < WORDS_PER_BLOCK; i++) {
      int bit = 1 << ((key * SALTS[i]) >>> 27);
      unset |= ~words[first + i] & bit;
      words[first + i] |= bit;
    }
    return unset != 0;
  }

  /** Whether `number` may have been added: certainly if it was, wrongly now and then if not. */
  public boolean mightContain(long number) {
    long hash = mixed(number);
    int first = firstWord(hash);
    int key = (int) hash;
    for (int i = 0; i < WORDS_PER_BLOCK; i++) {
      if ((words[first + i] & (1 << ((key * SALTS[i]) >>> 27))) == 0) {
        return false;
      }
    }
    return true;
  }

  /** This filter now holds what either held. */
  BlockFilter or(BlockFilter other) {
    requireSameSize(other);
    for (int i = 0; i < words.length; i++) {
      words[i] |= other.words[i];
    }
    return this;
  }

  /** A new filter of the bits both hold: it holds every number both hold. */
  BlockFilter and(BlockFilter other) {
    requireSameSize(other);
    BlockFilter both = new BlockFilter((int) blocks);
    for (int i = 0; i < words.length; i++) {
      both.words[i] = words[i] & other.words[i];
    }
    return both;
  }

  private void requireSameSize(BlockFilter other) {
    if (other.blocks != blocks) {
      throw new IllegalArgumentException("filters of " + blocks + " and " + other.blocks + " blocks");
    }
  }

  /** The first word of the block of `hash`: its high 32 bits scaled to the blocks. */
  private int firstWord(long hash) {
    return (int) (((hash >>> 32) * blocks) >>> 32) * WORDS_PER_BLOCK;
  }

  /**
   * MurmurHash3's 64-bit finalizer: block numbers are hashes already, but a caller's numbers
   * need not be (consecutive ones would share a block and a key), and it costs no memory access.
   */
  static long mixed(long number) {
    long hash = number;
    hash ^= hash >>> 33;
    hash *= 0xff51afd7ed558ccdL;
    hash ^= hash >>> 33;
    hash *= 0xc4ceb9fe1a85ec53L;
    hash ^= hash >>> 33;
    return hash;
  }
}
