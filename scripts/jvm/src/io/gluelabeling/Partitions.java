package io.gluelabeling;

import java.util.Collections;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The rows of an RDD's first partitions only. A partition left out is not computed, as long as
 * its iterator does no work before its first row is asked for (BlockComparison's does none):
 * fellegi_sunter.py fits its model on the candidate pairs of a few blocks' partitions this way,
 * then scores every pair, and the blocks' shuffle is read twice but made once.
 */
public final class Partitions {
  private Partitions() {}

  public static RDD<InternalRow> first(RDD<InternalRow> rows, int count) {
    return rows.toJavaRDD()
        .mapPartitionsWithIndex(
            (index, partition) ->
                index < count ? partition : Collections.<InternalRow>emptyIterator(),
            true)
        .rdd();
  }
}
