"""glue-labeling's JVM functions (scripts/jvm/src, built by scripts/setup.sh into
glue-labeling-similarity.jar, shipped with a deploy): the UDFs and their registration in a
SparkSession, and the functions of a DataFrame's rows (jvm_frame).

The stages that call the UDFs (normalize.py, minhash.py, score.py) register them first, so a
session needs nothing but the jar on its classpath.
"""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import ArrayType, DataType, DoubleType, LongType, StringType, StructType

# SQL name -> (class in glue-labeling-similarity.jar, return type).
JVM_FUNCTIONS: dict[str, tuple[str, DataType]] = {
    "gl_jaro_winkler": ("io.gluelabeling.JaroWinklerSimilarity", DoubleType()),
    "gl_levenshtein": ("io.gluelabeling.LevenshteinSimilarity", DoubleType()),
    "gl_token_jaccard": ("io.gluelabeling.TokenJaccard", DoubleType()),
    "gl_normalize": ("io.gluelabeling.NormalizeText", StringType()),
    "gl_band_keys": ("io.gluelabeling.MinHashBandKeys", ArrayType(LongType())),
}


def register_jvm_functions(spark: SparkSession) -> None:
    """Registers the functions `spark` does not have yet, or says what is missing. Registering
    again would work too, but Spark logs a warning for every function replaced, and
    normalize_text registers once per column."""
    for name, (class_name, return_type) in JVM_FUNCTIONS.items():
        if spark.catalog.functionExists(name):
            continue
        try:
            spark.udf.registerJavaFunction(name, class_name, return_type)
        except Exception as error:
            raise RuntimeError(
                f"cannot register {class_name} from glue-labeling-similarity.jar ({error}); is the jar on "
                "Spark's classpath? scripts/setup.sh builds it for local runs, scripts/deploy.py ships it"
            ) from error


# A JVM function that returns one sketch per task (SharedBlocks.java, DistinctCounts.java) has
# the driver receive and merge them all: at most this many bytes together, well under Spark's
# default spark.driver.maxResultSize (1 GB). With the shared blocks' filters of 10M records
# (133 MB each, two per task) and ten partitions, the job ran out of the driver's 4 GB heap and
# past that limit.
TASK_RESULTS_BYTES = 512 * 1024 * 1024


def partition_count(frame: DataFrame) -> int:
    """The partitions of `frame`'s internal rows: the tasks a JVM function of them runs."""
    return frame._jdf.queryExecution().toRdd().getNumPartitions()


def within_task_results(frame: DataFrame, bytes_per_task: int) -> DataFrame:
    """`frame`, coalesced (no shuffle) to as many partitions as keep the results of a JVM
    function returning `bytes_per_task` per task within TASK_RESULTS_BYTES; fewer tasks then
    read more rows each (one reads all of 10M records for the shared blocks' filter)."""
    tasks = max(1, TASK_RESULTS_BYTES // max(bytes_per_task, 1))
    return frame.coalesce(tasks) if partition_count(frame) > tasks else frame


def jvm_call(frame: DataFrame, class_name: str, method: str, *arguments: Any) -> Any:
    """What a static JVM method of glue-labeling-similarity.jar returns for `frame`'s rows (as
    Spark's internal rows, RDD[InternalRow]) and `arguments`."""
    owner = frame.sparkSession._jvm
    for part in class_name.split("."):
        owner = getattr(owner, part)
    return getattr(owner, method)(frame._jdf.queryExecution().toRdd(), *arguments)


def jvm_frame(frame: DataFrame, class_name: str, method: str, output: StructType, *arguments: Any) -> DataFrame:
    """The DataFrame of schema `output` a static JVM method of glue-labeling-similarity.jar makes
    of `frame`'s rows and `arguments`. The method takes and returns Spark's internal rows
    (RDD[InternalRow]), which spares the boxing of every field the Row API pays for. Both ends
    are Spark's own internal calls (queryExecution.toRdd, internalCreateDataFrame), reached by
    name through py4j, so the one jar runs on Spark 3.5's SparkSession and Spark 4's classic
    one. Classic Spark only, as on EMR and Glue: a Spark Connect session has no JVM to call."""
    spark = frame.sparkSession
    rows = jvm_call(frame, class_name, method, *arguments)
    schema = spark._jsparkSession.parseDataType(output.json())
    return DataFrame(spark._jsparkSession.internalCreateDataFrame(rows, schema, False), spark)


def first_partitions(frame: DataFrame, share: float) -> DataFrame:
    """The rows of `frame`'s first partitions, about `share` of them (at least one; `frame`
    itself at 1.0), computed without the others (Partitions.java). Partitions of a hash
    partitioning are a random sample of its keys: of blocks, for the candidate pairs."""
    partitions = partition_count(frame)
    count = max(1, math.ceil(partitions * share))
    if count >= partitions:
        return frame
    return jvm_frame(frame, "io.gluelabeling.Partitions", "first", frame.schema, count)
