#!/usr/bin/env bash
# The demo: setup, then Marseille areas, the H3 grid, two years of synthetic data from four
# silos ingested, and the server on http://127.0.0.1:8000 (Ctrl-C to stop).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/shared.sh
bash scripts/setup.sh
exec .venv/bin/geotranquil demo "$@"
