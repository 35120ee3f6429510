"""Normalize: comparison copies of the data columns (case, accents, punctuation, white space),
and for number and date columns a numeric copy (dates as days since 1970) for distances.

The originals are untouched, so the labeling set shows the data as the user wrote it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DateType, NumericType, TimestampType

ACCENTED = "àáâãäåāçćčèéêëēęìíîïīłñńòóôõöøōśšùúûüūýÿžźż"
PLAIN = "aaaaaaaccceeeeeeiiiiilnnoooooooss" + "uuuuuyyzzz"
assert len(ACCENTED) == len(PLAIN), "translate() pairs the two strings character by character"


def comparison_column(index: int) -> str:
    return f"_gl_n{index}"


def numeric_column(index: int) -> str:
    return f"_gl_x{index}"


def numeric_value(column: Column, data_type: DataType) -> Column | None:
    """A number to measure distance on, or None for columns that are not numbers or dates."""
    if isinstance(data_type, NumericType):
        return column.cast("double")
    if isinstance(data_type, DateType):
        return F.datediff(column, F.lit("1970-01-01").cast("date")).cast("double")
    if isinstance(data_type, TimestampType):
        return F.unix_seconds(column) / 86400.0
    return None


def normalize_text(column: Column) -> Column:
    lowered = F.translate(F.lower(column.cast("string")), ACCENTED, PLAIN)
    # One pass: a run of anything but letters and digits (white space included) becomes one space.
    cleaned = F.trim(F.regexp_replace(lowered, r"[^\p{L}\p{N}]+", " "))
    return F.when(cleaned == "", None).otherwise(cleaned)


def with_comparison_columns(records: DataFrame, columns: list[str]) -> DataFrame:
    """Adds `_gl_n<i>`, the normalized text of columns[i], and `_gl_x<i>`, its numeric value,
    when columns[i] is a number or a date."""
    types = {field.name: field.dataType for field in records.schema.fields}
    numeric = [
        (i, value)
        for i, name in enumerate(columns)
        if (value := numeric_value(F.col(f"`{name}`"), types[name])) is not None
    ]
    return records.select(
        "*",
        *[normalize_text(F.col(f"`{name}`")).alias(comparison_column(i)) for i, name in enumerate(columns)],
        *[value.alias(numeric_column(i)) for i, value in numeric],
    )
