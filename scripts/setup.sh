#!/usr/bin/env bash
# One-time set-up on a fresh machine; quick no-op when already done. Every other script calls it.
#   * .venv with the package (editable) and its test/dev extras: pyspark, delta-spark, deltalake,
#     boto3, moto (the local S3 server), pytest, chispa, ruff;
#   * the JVM jars (Delta, hadoop-aws and the AWS SDK v2 modules S3A needs) fetched once from
#     Maven Central into .cache/jars, which Spark then loads as local files: nothing is
#     downloaded at run or test time;
#   * glue-labeling's own JVM functions (normalization, MinHash band keys, similarities) compiled
#     into the same directory (build_jvm.sh);
#   * there too, an archive of the classes a local Spark JVM loads, which local JVMs then start
#     from (build_class_archive.py: one labeling-set run on 2,000 generated records).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.glue-labeling-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the package and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi

jars=.cache/jars
jar_stamp=$jars/.fetched
if [ ! -f "$jar_stamp" ] || [ scripts/jvm/pom.xml -nt "$jar_stamp" ]; then
  echo "setup: fetching Delta and S3A jars from Maven Central into $jars" >&2
  rm -rf "$jars"
  mvn --batch-mode --quiet -f scripts/jvm/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$jars"
  touch "$jar_stamp"
fi
bash scripts/build_jvm.sh .venv "$jars"
.venv/bin/python scripts/build_class_archive.py
echo "setup: ready ($(ls "$jars"/*.jar | wc -l) jars in $jars)" >&2
