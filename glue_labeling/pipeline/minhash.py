"""MinHash band keys for fuzzy blocking, computed on whole Arrow batches with numpy.

A record's text is the set of its character 3-grams (of the UTF-8 bytes), each tagged with its
column, so "smith" as a street is not "smith" as a surname. Two records agree on a MinHash
value with probability equal to the Jaccard similarity of their gram sets; a band is a few
such values, so two records share a band key with probability about J**r (r values per band,
the band's width).

One-permutation hashing (Li, Owen and Zhang, 2012): each gram is hashed once, the hash's high
bits choose one of `bands * width` bins and the bin keeps its smallest low bits. This
costs one hash per gram instead of one per gram and signature position, which is what makes
blocking on MinHash affordable at millions of records. A bin no gram fell into borrows the
value of the next non-empty bin to its right, offset by the distance (rotation densification,
Shrivastava and Li, 2014), so short texts still get a full signature with the same collision
probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, LongType

from glue_labeling.pipeline.normalize import comparison_column

GRAM_LENGTH = 3
# The narrowest band: 4 values, so 3-gram sets with Jaccard similarity 0.75 (a typo or two in a
# record's text) share a band with probability 0.32.
MIN_BAND_WIDTH = 4
BAND_KEYS = "_gl_bands"
_EMPTY = np.iinfo(np.int64).max
_LOW_32 = np.uint64(0xFFFFFFFF)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every output bit depends on every input bit, so the bins and the
    values of nearby gram codes are independent."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def gram_codes(texts: pd.Series, tag: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes, counts): one integer per 3-gram of each text's UTF-8 bytes, the column `tag` in
    its high bits, and the number of grams of each text (a text shorter than a gram is one
    gram; null and empty texts have none). The codes of one text are contiguous, in order."""
    array = pa.array(texts, type=pa.string(), from_pandas=True)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    padded = np.concatenate(
        [
            np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8),
            np.zeros(GRAM_LENGTH, np.uint8),
        ]
    ).astype(np.uint64)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    if array.null_count:
        lengths = np.where(array.is_valid().to_numpy(zero_copy_only=False), lengths, 0)
    counts = np.where(lengths >= GRAM_LENGTH, lengths - (GRAM_LENGTH - 1), np.minimum(lengths, 1))
    total = int(counts.sum())
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(starts, counts) + within
    ends = np.repeat(starts + lengths, counts)
    codes = np.full(total, np.uint64(tag + 1) << np.uint64(8 * GRAM_LENGTH), dtype=np.uint64)
    for k in range(GRAM_LENGTH):
        # Past the end of a short text the byte is 0, not the next text's first byte.
        byte = np.where(positions + k < ends, padded[positions + k], np.uint64(0))
        codes |= byte << np.uint64(8 * (GRAM_LENGTH - 1 - k))
    return codes, counts


def band_keys(texts: list[pd.Series], bands: int, width: int = MIN_BAND_WIDTH) -> np.ndarray:
    """(records, bands) int64 keys of bands of `width` values for the records whose columns are
    `texts`; a record with no gram at all gets no keys (its row is all _EMPTY)."""
    records = len(texts[0])
    bins = bands * width
    minimum = np.full(records * bins, _EMPTY, dtype=np.int64)
    for tag, column in enumerate(texts):
        codes, counts = gram_codes(column, tag)
        hashed = _mix(codes)
        chosen_bin = (((hashed >> np.uint64(32)) * np.uint64(bins)) >> np.uint64(32)).astype(np.int64)
        owner = np.repeat(np.arange(records, dtype=np.int64), counts)
        np.minimum.at(minimum, owner * bins + chosen_bin, (hashed & _LOW_32).astype(np.int64))
    signature = densified(minimum.reshape(records, bins))
    keys = np.full((records, bands), _EMPTY, dtype=np.int64)
    present = signature[:, 0] != _EMPTY
    if present.any():
        banded = signature[present].reshape(-1, bands, width).astype(np.uint64)
        combined = np.zeros(banded.shape[:2], dtype=np.uint64)
        for position in range(width):
            combined = _mix(combined ^ banded[:, :, position])
        keys[present] = combined.view(np.int64)
    return keys


def densified(signature: np.ndarray) -> np.ndarray:
    """Fill each empty bin from the nearest non-empty bin to its right (cyclically), plus
    2**32 per step so a borrowed value never equals an own one. Rows with no value stay empty."""
    filled = signature.copy()
    for distance in range(1, signature.shape[1]):
        empty = filled == _EMPTY
        if not empty.any():
            break
        donor = np.roll(signature, -distance, axis=1)
        take = empty & (donor != _EMPTY)
        filled[take] = donor[take] + (distance << 32)
    return filled


def with_band_keys(records: DataFrame, columns: list[int], bands: int, width: int = MIN_BAND_WIDTH) -> DataFrame:
    """Adds BAND_KEYS: `bands` MinHash keys of bands of `width` values over the 3-grams of the
    listed normalized columns, null when they hold no text (an empty key would put all such
    records in one block)."""
    if not columns:
        return records.withColumn(BAND_KEYS, F.lit(None).cast("array<bigint>"))

    @F.pandas_udf(ArrayType(LongType()))
    def keys_of(texts: pd.DataFrame) -> pd.Series:
        keys = band_keys([texts[name] for name in texts.columns], bands, width)
        return pd.Series([None if row[0] == _EMPTY else row for row in keys])

    text: Column = F.struct(*[F.col(comparison_column(i)).alias(str(i)) for i in columns])
    return records.withColumn(BAND_KEYS, keys_of(text))
