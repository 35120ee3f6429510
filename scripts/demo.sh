#!/usr/bin/env bash
# README command 1: set up if needed, then run the main job end to end on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
