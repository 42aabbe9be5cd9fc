#!/usr/bin/env bash
# The demo: setup, then Marseille areas, the H3 grid, two years of synthetic data from four
# silos ingested, a job worker in the background, and the server on http://127.0.0.1:8000
# (Ctrl-C stops both).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/shared.sh
bash scripts/setup.sh
# The deployed topology (README, « Topologie ») when the setup started it and no other
# database was chosen: server and worker through PgBouncer, the worker's job queue (LISTEN)
# and the sessions' locks directly on the primary, the read-only API on the replica.
if [ -z "${GEOTRANQUIL_DATABASE_URL:-}" ] && [ "${GEOTRANQUIL_SKIP_SYSTEM:-0}" != "1" ] \
    && [ "${GEOTRANQUIL_SKIP_REPLICA:-0}" != "1" ]; then
  export GEOTRANQUIL_DATABASE_URL="postgresql+psycopg://postgres:postgres@127.0.0.1:6432/geotranquil"
  export GEOTRANQUIL_DIRECT_DATABASE_URL="postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil"
  export GEOTRANQUIL_READ_DATABASE_URL="postgresql+psycopg://postgres:postgres@127.0.0.1:5433/geotranquil"
fi
bash scripts/worker.sh start
trap 'bash scripts/worker.sh stop' EXIT
.venv/bin/geotranquil demo "$@"
