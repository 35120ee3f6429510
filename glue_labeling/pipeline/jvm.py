"""glue-labeling's JVM functions (scripts/jvm/src, built by scripts/setup.sh into
glue-labeling-similarity.jar, shipped with a deploy) and their registration in a SparkSession.

The stages that call them (normalize.py, minhash.py, score.py) register them first, so a
session needs nothing but the jar on its classpath.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql.types import ArrayType, DataType, DoubleType, LongType, StringType

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
