#!/usr/bin/env bash
# The Spark tests under Spark 3.5 (the line Glue 5.x and EMR 7.x run) instead of .venv's Spark 4.1:
#   * .venv-spark35 with the package (editable) and its test extras, pyspark and delta-spark held
#     at the 3.5 line by scripts/spark35-constraints.txt;
#   * the Delta 3.3 / hadoop-aws 3.3.4 jars fetched once into .cache/jars-spark35
#     (scripts/jvm/pom-spark35.xml) and handed to Spark through GLUE_LABELING_JARS_DIR, with the
#     archive of Spark 3.5's classes (build_class_archive.py);
#   * pytest on every test that uses the SparkSession (marker `spark`, set in tests/conftest.py).
# Quick no-op set-up after the first run. Extra arguments go to pytest, e.g. `-m "spark and not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
venv=.venv-spark35
constraints=scripts/spark35-constraints.txt
if [ ! -x "$venv/bin/python" ]; then
  echo "test_spark35: creating $venv" >&2
  "$PYTHON" -m venv "$venv"
fi
stamp=$venv/.glue-labeling-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$constraints" -nt "$stamp" ]; then
  echo "test_spark35: installing the package with pyspark 3.5 into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -c "$constraints" -e ".[test]"
  touch "$stamp"
fi

jars=.cache/jars-spark35
jar_stamp=$jars/.fetched
if [ ! -f "$jar_stamp" ] || [ scripts/jvm/pom-spark35.xml -nt "$jar_stamp" ]; then
  echo "test_spark35: fetching the Spark 3.5 Delta and S3A jars from Maven Central into $jars" >&2
  rm -rf "$jars"
  mvn --batch-mode --quiet -f scripts/jvm/pom-spark35.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$jars"
  touch "$jar_stamp"
fi
bash scripts/build_jvm.sh "$venv" "$jars"
export GLUE_LABELING_JARS_DIR="$PWD/$jars"
"$venv/bin/python" scripts/build_class_archive.py

"$venv/bin/python" -c 'from importlib.metadata import version as v; print("test_spark35: pyspark", v("pyspark"), "delta-spark", v("delta-spark"))' >&2
exec "$venv/bin/pytest" -m spark "$@"
