#!/usr/bin/env bash
# Builds glue-labeling's JVM functions (scripts/jvm/src: Spark UDFs for text normalization, MinHash
# band keys, Jaro-Winkler, Levenshtein and word Jaccard similarity, registered by
# glue_labeling/pipeline/jvm.py; and the functions of internal rows compare.py calls: the blocks
# of more than one record, the comparison of each block's pairs, and sample.py's score extremes
# per record) into
# <jars dir>/glue-labeling-similarity.jar, against the Spark of <venv>.
# Only Java types, Spark's Java API (UDF2, JavaRDD) and catalyst's Java classes (InternalRow,
# UnsafeRowWriter, UTF8String) cross the interfaces, so the jar built against Spark 4.1 (Scala
# 2.13) also runs on Spark 3.5 (Scala 2.12), as a deploy ships it (tests/test_pipeline_stages.py
# passed under 3.5 with the jar built against 4.1).
# Rebuilt only when a source is newer than the jar. Usage: scripts/build_jvm.sh <venv> <jars dir>
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1
jars=$2
jar=$jars/glue-labeling-similarity.jar
sources=$(find scripts/jvm/src -name '*.java')
if [ -f "$jar" ] && [ -z "$(find scripts/jvm/src -name '*.java' -newer "$jar")" ]; then
  exit 0
fi
spark_jars=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
# Java 17 bytecode: what Spark 4 requires and what Glue 5, EMR 7 and Spark 3.5 run on. UTF-8:
# the sources hold accented letters, and Java 17 would read them in the locale's encoding.
javac --release 17 -encoding UTF-8 -nowarn -cp "$spark_jars/*" -d "$classes" $sources
jar cf "$jar" -C "$classes" .
echo "build_jvm: built $jar" >&2
