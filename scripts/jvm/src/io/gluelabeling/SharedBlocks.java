package io.gluelabeling;

import java.util.Collections;
import java.util.Iterator;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * A Bloom filter of the blocks of more than one record (compare.py): it holds every block number
 * two or more records have, and a few others, which BlockEntries then sends records to where
 * they are alone (no pair comes of them). In: rows of one block number per rule (bigint, null
 * where the rule gives the record no key).
 *
 * <p>Each partition puts its numbers in two filters, those seen and those seen again (a number
 * whose bits were all set already); two partitions' filters merge as seen = seen1 | seen2 and
 * again = again1 | again2 | (seen1 & seen2), so a block whose records are in different
 * partitions is found too. This replaced counting every block exactly (a shuffle of every block
 * number to a table per partition, RepeatedValues) and then filling a filter of the counted
 * ones: at 1M generated person records (11M block numbers) those jobs took 4.2-4.6 s, this one
 * 2.5-3.1 s. The partitions' filters are merged on the driver as they arrive (reduce): with
 * treeReduce's intermediate level, every partition's two filters (26 MB at 1M records) went
 * through a shuffle, and the job took 3.9-4.2 s.
 *
 * <p>False positives: a number seen once passes when all its bits are set in a partition's
 * `seen` filter or in both halves of a merge; with the filters sized for every number of every
 * record (at most one per record and rule) at the given rate, both are rare (at 1M records the
 * halves of the last merge are each about a third full, so a number seen once passes their
 * intersection with about that fraction to the power of its eight bits).
 */
public final class SharedBlocks {
  private SharedBlocks() {}

  public static BlockFilter filter(RDD<InternalRow> numbers, int rules, long expected, double falsePositives) {
    return numbers
        .toJavaRDD()
        .mapPartitions(rows -> Collections.singletonList(seen(rows, rules, expected, falsePositives)).iterator())
        .reduce(SharedBlocks::merged)[1];
  }

  /** {seen, seen again} of one partition's numbers. */
  private static BlockFilter[] seen(Iterator<InternalRow> rows, int rules, long expected, double falsePositives) {
    BlockFilter seen = BlockFilter.sized(expected, falsePositives);
    BlockFilter again = BlockFilter.sized(expected, falsePositives);
    while (rows.hasNext()) {
      InternalRow row = rows.next();
      for (int rule = 0; rule < rules; rule++) {
        if (!row.isNullAt(rule) && !seen.put(row.getLong(rule))) {
          again.put(row.getLong(rule));
        }
      }
    }
    return new BlockFilter[] {seen, again};
  }

  private static BlockFilter[] merged(BlockFilter[] first, BlockFilter[] second) {
    BlockFilter inBoth = first[0].and(second[0]);
    first[1].or(second[1]).or(inBoth);
    first[0].or(second[0]);
    return first;
  }
}
