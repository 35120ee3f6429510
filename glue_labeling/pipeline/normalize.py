"""Normalize: comparison copies of the data columns (case, accents, punctuation, white space),
and for number and date columns a numeric copy (dates as days since 1970) for distances.

The originals are untouched, so the labeling set shows the data as the user wrote it.

The text normalization is one JVM function, gl_normalize (scripts/jvm/src, NormalizeText.java):
one pass over the characters. It replaced lower + translate + regexp_replace + trim, which on
1M generated person records (10 columns, one core, forced by a local checkpoint) took 32-37 s
against 4 s for the JVM function, and 6 s for lower alone; both give the same text for every
record. The regular expression was the cost.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DateType, NumericType, TimestampType

from glue_labeling.pipeline.jvm import register_jvm_functions

# The accented letters folded to their base letters, character by character (NormalizeText.java
# holds the same table).
ACCENTED = "àáâãäåāçćčèéêëēęìíîïīłñńòóôõöøōśšùúûüūýÿžźż"
PLAIN = "aaaaaaaccceeeeeeiiiiilnnoooooooss" + "uuuuuyyzzz"
assert len(ACCENTED) == len(PLAIN), "the table pairs the two strings character by character"


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
    r"""Lower case, ACCENTED letters folded to PLAIN, every run of anything but letters and
    numbers (\p{L}, \p{N}; white space included) one space, none at either end; null when
    nothing is left. Registers the JVM function in the active session: a Column has no session."""
    register_jvm_functions(SparkSession.active())
    return F.call_function("gl_normalize", column.cast("string"))


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
