#!/usr/bin/env bash
# Re-writes requirements.lock, the exact versions scripts/setup.sh (and so CI) installs, from
# the dependencies declared in pyproject.toml (with the dev extra). Run it after changing them:
#   bash scripts/lock.sh                          # keep every pin that still fits, add the new
#   bash scripts/lock.sh --upgrade-package NAME   # move one package to its newest release
#   bash scripts/lock.sh --upgrade                # move everything to the newest releases
# then commit requirements.lock with pyproject.toml. uv (a dev dependency) does the resolving.
set -euo pipefail
cd "$(dirname "$0")/.."
uv_bin=.venv/bin/uv
if [ ! -x "$uv_bin" ]; then
  uv_bin=$(command -v uv || true)
fi
if [ -z "$uv_bin" ]; then
  echo "[lock] uv introuvable : lancez d'abord « bash scripts/setup.sh »" >&2
  exit 1
fi
exec "$uv_bin" pip compile pyproject.toml --extra dev --python-version 3.11 \
  --annotation-style line --quiet --output-file requirements.lock "$@"
