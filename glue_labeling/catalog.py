"""The local table catalog: plays the Glue Data Catalog's role for InputRecordTables.

Why not Spark's Hive metastore: its embedded Derby database admits one JVM at a time, and
up to three labeling jobs of a transform run at once, each with its own JVM. So the catalog
is a Delta table (database, table, location, format, schema); each job registers the tables
it needs in its own Spark session catalog (`register_in_session`) and then reads them through
Spark's catalog by name, exactly as it does on EMR or Glue, where the cluster's catalog (the
Glue Data Catalog) already knows them. The schema is recorded at registration so that
CreateMLTransform can check the primary key without starting a JVM.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from glue_labeling.settings import Settings
from glue_labeling.store import DeltaRowStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SUPPORTED_FORMATS = ("csv", "parquet", "json", "delta")

CATALOG_SCHEMA = pa.schema(
    [
        ("qualified_name", pa.string()),
        ("database_name", pa.string()),
        ("table_name", pa.string()),
        ("location", pa.string()),
        ("format", pa.string()),
        ("table_schema", pa.string()),
        ("registered_on", pa.timestamp("us", tz="UTC")),
    ]
)


def qualified_name(database_name: str, table_name: str) -> str:
    return f"{database_name}.{table_name}".lower()


class LocalCatalog:
    def __init__(self, settings: Settings) -> None:
        self._store = DeltaRowStore(settings.catalog_location, CATALOG_SCHEMA, "qualified_name", settings, "catalog")

    def lookup(self, database_name: str, table_name: str) -> dict[str, Any] | None:
        row = self._store.get(qualified_name(database_name, table_name))
        if row is None:
            return None
        return {**row, "table_schema": json.loads(row["table_schema"])}

    def register(self, spark: SparkSession, database_name: str, table_name: str, location: str, fmt: str) -> dict:
        """Record an existing dataset as `database.table`, with the schema Spark reads from it."""
        if fmt not in SUPPORTED_FORMATS:
            raise ValueError(f"format must be one of {', '.join(SUPPORTED_FORMATS)}, got {fmt!r}")
        frame = read_dataset(spark, location, fmt)
        schema = [{"Name": field.name, "DataType": field.dataType.simpleString()} for field in frame.schema]
        row = {
            "qualified_name": qualified_name(database_name, table_name),
            "database_name": database_name,
            "table_name": table_name,
            "location": location,
            "format": fmt,
            "table_schema": json.dumps(schema),
            "registered_on": dt.datetime.now(dt.timezone.utc),
        }
        with self._store.exclusive():
            self._store.upsert([row])
        return {**row, "table_schema": schema}

    def register_in_session(self, spark: SparkSession, database_name: str, table_name: str) -> bool:
        """Make `database.table` resolvable in this session's catalog; False if unknown here
        (then the session's own catalog, e.g. the Glue Data Catalog on AWS, must know it)."""
        entry = self.lookup(database_name, table_name)
        if entry is None:
            return False
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database_name}`")
        options = " OPTIONS (header 'true', inferSchema 'true')" if entry["format"] == "csv" else ""
        location = entry["location"].replace("'", "\\'")
        # Replace any earlier definition: the table may have been registered anew since.
        spark.sql(f"DROP TABLE IF EXISTS `{database_name}`.`{table_name}`")
        spark.sql(
            f"CREATE TABLE `{database_name}`.`{table_name}` USING {entry['format']}{options} LOCATION '{location}'"
        )
        return True


def read_dataset(spark: SparkSession, location: str, fmt: str) -> DataFrame:
    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    return reader.load(location)
