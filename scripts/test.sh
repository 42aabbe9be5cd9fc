#!/usr/bin/env bash
# The whole test suite: setup, lint (ruff), types (mypy), then pytest against a real PostGIS.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/shared.sh
bash scripts/setup.sh
echo "[test] ruff"
.venv/bin/ruff check src tests benchmarks migrations notebooks
.venv/bin/ruff format --check src tests benchmarks migrations notebooks
echo "[test] mypy"
.venv/bin/mypy
echo "[test] pytest"
exec .venv/bin/pytest "$@"
