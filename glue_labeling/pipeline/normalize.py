"""Normalize: comparison copies of the data columns (case, accents, punctuation, white space).

The originals are untouched, so the labeling set shows the data as the user wrote it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ACCENTED = "àáâãäåāçćčèéêëēęìíîïīłñńòóôõöøōśšùúûüūýÿžźż"
PLAIN = "aaaaaaaccceeeeeeiiiiilnnoooooooss" + "uuuuuyyzzz"
assert len(ACCENTED) == len(PLAIN), "translate() pairs the two strings character by character"


def comparison_column(index: int) -> str:
    return f"_gl_n{index}"


def normalize_text(column: Column) -> Column:
    lowered = F.translate(F.lower(column.cast("string")), ACCENTED, PLAIN)
    spaced = F.regexp_replace(lowered, r"[^\p{L}\p{N}]+", " ")
    cleaned = F.trim(F.regexp_replace(spaced, r"\s+", " "))
    return F.when(cleaned == "", None).otherwise(cleaned)


def with_comparison_columns(records: DataFrame, columns: list[str]) -> DataFrame:
    """Adds `_gl_n<i>`, the normalized text of columns[i]."""
    return records.select(
        "*", *[normalize_text(F.col(f"`{name}`")).alias(comparison_column(i)) for i, name in enumerate(columns)]
    )
