#!/usr/bin/env bash
# A PostgreSQL cluster of its own for the store-at-scale benchmark (15/bench, 127.0.0.1:5434):
# not streamed to the replica (a physical replica copies every database of its primary, so a
# 50 M-event store on the primary would take its ~31 GB twice on this disk), with the
# primary's authentication and PostGIS. Idempotent: a running cluster is left alone.
#
#   sudo bash scripts/bench_cluster.sh
#   GEOTRANQUIL_BENCH_SCALE_DATABASE_URL=postgresql+psycopg://postgres:postgres@127.0.0.1:5434/geotranquil_bench_scale \
#       .venv/bin/python -m benchmarks.scale_store --echelle metropole --facteur 1
#
# `pg_dropcluster --stop 15 bench` removes it and its data.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
BENCH_NAME=bench
BENCH_PORT="${GEOTRANQUIL_BENCH_CLUSTER_PORT:-5434}"
export PGPASSWORD="${PGPASSWORD:-postgres}"

say() { printf '\033[1m[bench-cluster]\033[0m %s\n' "$*"; }

if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$PG_VERSION/$BENCH_NAME"; then
  say "création du cluster $PG_VERSION/$BENCH_NAME (port $BENCH_PORT)"
  pg_createcluster "$PG_VERSION" "$BENCH_NAME" --port "$BENCH_PORT" >/dev/null
fi
conf="/etc/postgresql/$PG_VERSION/$BENCH_NAME/conf.d/90-geotranquil-bench.conf"
new="$(cat <<CONF
# written by geotranquil's scripts/bench_cluster.sh
listen_addresses = '127.0.0.1'
port = $BENCH_PORT
shared_buffers = '2GB'
max_wal_size = '8GB'
wal_level = minimal
max_wal_senders = 0
CONF
)"
restart=0
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$new" ]; then
  printf '%s\n' "$new" >"$conf"
  restart=1
fi
# the primary's authentication rules (local development: trust on 127.0.0.1)
hba="$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -XAtqc 'SHOW hba_file')"
bhba="/etc/postgresql/$PG_VERSION/$BENCH_NAME/pg_hba.conf"
if ! cmp -s "$hba" "$bhba"; then
  install -o postgres -g postgres -m 0640 "$hba" "$bhba"
  restart=1
fi
if pg_lsclusters -h | awk -v n="$BENCH_NAME" '$2 == n {print $4}' | grep -qx online; then
  if [ "$restart" = 1 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$BENCH_NAME" restart -m fast
  fi
else
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$BENCH_NAME" start
fi
for _ in $(seq 1 60); do
  if psql -h 127.0.0.1 -p "$BENCH_PORT" -U postgres -d postgres -XAtqc 'SELECT 1' >/dev/null 2>&1; then
    say "prêt : postgresql://postgres@127.0.0.1:$BENCH_PORT"
    exit 0
  fi
  sleep 1
done
say "le cluster $PG_VERSION/$BENCH_NAME ne répond pas sur le port $BENCH_PORT" >&2
exit 1
