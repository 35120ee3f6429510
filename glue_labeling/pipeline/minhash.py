"""MinHash band keys for fuzzy blocking, one JVM function per record (scripts/jvm/src,
MinHashBandKeys.java).

A record's text is the set of its character 3-grams (of the UTF-8 bytes), each tagged with its
column, so "smith" as a street is not "smith" as a surname; a text shorter than a gram is one
gram, null and empty texts have none. Two records agree on a MinHash value with probability
equal to the Jaccard similarity of their gram sets; a band is a few such values, so two records
share a band key with probability about J**r (r values per band, the band's width).

One-permutation hashing (Li, Owen and Zhang, 2012): each gram is hashed once (splitmix64's
finalizer, so every output bit depends on every input bit), the hash's high bits choose one of
`bands * width` bins and the bin keeps its smallest low 32 bits. This costs one hash per gram
instead of one per gram and signature position, which is what makes blocking on MinHash
affordable at millions of records. A bin no gram fell into borrows the value of the next
non-empty bin to its right, plus 2**32 per step (rotation densification, Shrivastava and Li,
2014), so short texts still get a full signature with the same collision probability. A band's
values are combined by the same finalizer into one 64-bit key.

The JVM function replaced a pandas UDF doing the same with numpy on Arrow batches: on 1M
generated person records (7 columns, 6 bands of 8, one core, forced by a local checkpoint) the
UDF took 26-31 s, the JVM function 6-11 s with the same keys for every record. The hashing
itself is about 0.6 s of that; the rest is Spark moving rows, which the UDF paid for too, plus
the Arrow round trip to Python and back.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from glue_labeling.pipeline.jvm import register_jvm_functions
from glue_labeling.pipeline.normalize import comparison_column

# The narrowest band: 4 values, so 3-gram sets with Jaccard similarity 0.75 (a typo or two in a
# record's text) share a band with probability 0.32.
MIN_BAND_WIDTH = 4
BAND_KEYS = "_gl_bands"
# Between a record's texts in gl_band_keys' argument: normalized text (letters, numbers and
# single spaces) never holds it.
TEXT_SEPARATOR = "\u001f"


def with_band_keys(records: DataFrame, columns: list[int], bands: int, width: int = MIN_BAND_WIDTH) -> DataFrame:
    """Adds BAND_KEYS: `bands` MinHash keys of bands of `width` values over the 3-grams of the
    listed normalized columns, null when they hold no text (an empty key would put all such
    records in one block)."""
    if not columns:
        return records.withColumn(BAND_KEYS, F.lit(None).cast("array<bigint>"))
    register_jvm_functions(records.sparkSession)
    # A null column is an empty text (no grams), keeping every later column at its position.
    texts = F.concat_ws(TEXT_SEPARATOR, *[F.coalesce(F.col(comparison_column(i)), F.lit("")) for i in columns])
    return records.withColumn(BAND_KEYS, F.call_function("gl_band_keys", texts, F.lit(bands), F.lit(width)))
