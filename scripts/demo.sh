#!/usr/bin/env bash
# The demo: setup, then Marseille areas, the H3 grid, two years of synthetic data from four
# silos ingested, a job worker in the background, and the server on http://127.0.0.1:8000
# (Ctrl-C stops both).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/shared.sh
bash scripts/setup.sh
bash scripts/worker.sh start
trap 'bash scripts/worker.sh stop' EXIT
.venv/bin/geotranquil demo "$@"
