#!/usr/bin/env bash
# README command 2: set up if needed, lint, then run the whole test suite (real Spark, Delta,
# S3 server on loopback). Extra arguments go to pytest, e.g. `-m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/pytest "$@"
