#!/usr/bin/env bash
# PgBouncer (transaction mode, 127.0.0.1:6432) and a streaming read replica (cluster
# 15/replica, 127.0.0.1:5433) in front of and beside the local primary (15/main, 5432).
# Sourced by scripts/setup.sh (which defines `say` and PG_VERSION); idempotent: what runs and
# answers is left alone, what is stopped is started, a replica that does not stream from this
# primary is rebuilt.

PGB_DIR=/var/lib/geotranquil/pgbouncer
PGB_PORT=6432
REPLICA_NAME=replica
REPLICA_PORT=5433
REPLICA_SLOT=geotranquil_replica
# local development: the superuser's password of the default URL (see README for a server)
export PGPASSWORD="${PGPASSWORD:-postgres}"

primary_sql() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -XAtqc "$1"; }
replica_sql() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -XAtqc "$1"; }

setup_pgbouncer() {
  install -d -o postgres -g postgres -m 0750 "$PGB_DIR"
  local ini="$PGB_DIR/pgbouncer.ini" new
  new="$(cat <<INI
; written by geotranquil's scripts/setup.sh: do not edit (re-written when it changes)
[databases]
; every database of the local primary, test databases created on the fly included
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
; transaction mode: a server connection belongs to a client for one transaction only
pool_mode = transaction
; local development: no client authentication; the password below logs into PostgreSQL
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
; psycopg sends extra_float_digits; libpq's options (plan_cache_mode) cannot be honoured per
; client here: the databases carry plan_cache_mode themselves (migration 0024)
ignore_startup_parameters = extra_float_digits,options
max_client_conn = 500
default_pool_size = 10
reserve_pool_size = 2
; idle server connections are closed soon: the primary's max_connections is shared
server_idle_timeout = 30
server_lifetime = 1800
pidfile = $PGB_DIR/pgbouncer.pid
logfile = $PGB_DIR/pgbouncer.log
INI
)"
  if [ ! -f "$ini" ] || [ "$(cat "$ini")" != "$new" ]; then
    say "configuration de PgBouncer ($ini)"
    printf '%s\n' "$new" >"$ini"
    printf '"postgres" "postgres"\n' >"$PGB_DIR/userlist.txt"
    chown postgres:postgres "$ini" "$PGB_DIR/userlist.txt"
    chmod 0640 "$PGB_DIR/userlist.txt"
    if [ -f "$PGB_DIR/pgbouncer.pid" ] && kill -0 "$(cat "$PGB_DIR/pgbouncer.pid")" 2>/dev/null; then
      kill -HUP "$(cat "$PGB_DIR/pgbouncer.pid")"  # reload the new configuration
    fi
  fi
  if ! psql -h 127.0.0.1 -p "$PGB_PORT" -U postgres -d postgres -XAtqc 'SELECT 1' >/dev/null 2>&1; then
    say "démarrage de PgBouncer (127.0.0.1:$PGB_PORT, mode transaction)"
    su postgres -s /bin/sh -c "pgbouncer -d -q '$ini'"
    for _ in $(seq 1 50); do
      psql -h 127.0.0.1 -p "$PGB_PORT" -U postgres -d postgres -XAtqc 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.2
    done
    psql -h 127.0.0.1 -p "$PGB_PORT" -U postgres -d postgres -XAtqc 'SELECT 1' >/dev/null \
      || { say "PgBouncer ne répond pas (voir $PGB_DIR/pgbouncer.log)"; exit 1; }
  fi
}

replica_streams() {
  # answers, in recovery, same system as the primary, and its WAL receiver streams
  local in_rec sys_p sys_r status
  in_rec="$(replica_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" || return 1
  [ "$in_rec" = "t" ] || return 1
  sys_p="$(primary_sql 'SELECT system_identifier FROM pg_control_system()')"
  sys_r="$(replica_sql 'SELECT system_identifier FROM pg_control_system()')"
  [ "$sys_p" = "$sys_r" ] || return 1
  for _ in $(seq 1 60); do
    status="$(replica_sql 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null || true)"
    [ "$status" = "streaming" ] && return 0
    sleep 0.5
  done
  return 1
}

build_replica() {
  local datadir="/var/lib/postgresql/$PG_VERSION/$REPLICA_NAME"
  say "construction de la réplique $PG_VERSION/$REPLICA_NAME (pg_basebackup depuis le primaire)"
  if pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$PG_VERSION $REPLICA_NAME$"; then
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$REPLICA_NAME" stop -m fast >/dev/null 2>&1 || true
  else
    pg_createcluster "$PG_VERSION" "$REPLICA_NAME" --port "$REPLICA_PORT" >/dev/null
  fi
  # a slot keeps the WAL the replica has not received yet (bounded by max_slot_wal_keep_size)
  if [ "$(primary_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT'")" = "1" ]; then
    primary_sql "SELECT pg_drop_replication_slot('$REPLICA_SLOT')" >/dev/null
  fi
  rm -rf "$datadir"
  install -d -o postgres -g postgres -m 0700 "$datadir"
  su postgres -c "PGPASSWORD='$PGPASSWORD' pg_basebackup -h 127.0.0.1 -p 5432 -U postgres \
    -D '$datadir' -R -X stream -c fast -C -S '$REPLICA_SLOT'"
}

setup_replica() {
  local hba
  hba="$(primary_sql 'SHOW hba_file')"
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    say "pg_hba du primaire : connexions de réplication depuis 127.0.0.1"
    printf 'host replication all 127.0.0.1/32 trust\n' >>"$hba"
    primary_sql 'SELECT pg_reload_conf()' >/dev/null
  fi
  # the primary keeps at most this much WAL for a replica that stopped (the slot)
  if [ "$(primary_sql 'SHOW max_slot_wal_keep_size')" = "-1" ]; then
    say "primaire : max_slot_wal_keep_size = 4GB (WAL gardé pour la réplique)"
    primary_sql "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'" >/dev/null
    primary_sql 'SELECT pg_reload_conf()' >/dev/null
  fi
  local exists=0
  pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$PG_VERSION $REPLICA_NAME$" && exists=1
  if [ "$exists" = 0 ] || [ ! -f "/var/lib/postgresql/$PG_VERSION/$REPLICA_NAME/standby.signal" ]; then
    build_replica
  fi
  # the standby's own settings; hot standby needs these at least as large as the primary's
  local conf="/etc/postgresql/$PG_VERSION/$REPLICA_NAME/conf.d/90-geotranquil-replica.conf" new
  new="$(cat <<CONF
# written by geotranquil's scripts/setup.sh: the streaming read replica
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
hot_standby = on
# long reads are not cancelled by the primary's vacuum; the primary keeps the rows they see
hot_standby_feedback = on
max_connections = $(primary_sql 'SHOW max_connections')
max_worker_processes = $(primary_sql 'SHOW max_worker_processes')
max_prepared_transactions = $(primary_sql 'SHOW max_prepared_transactions')
max_locks_per_transaction = $(primary_sql 'SHOW max_locks_per_transaction')
max_wal_senders = $(primary_sql 'SHOW max_wal_senders')
CONF
)"
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$new" ]; then
    printf '%s\n' "$new" >"$conf"
    chown postgres:postgres "$conf"
    if pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$REPLICA_NAME" restart -m fast
    fi
  fi
  # the replica has the primary's roles: it accepts the same connections as the primary
  local rhba="/etc/postgresql/$PG_VERSION/$REPLICA_NAME/pg_hba.conf"
  if ! cmp -s "$hba" "$rhba"; then
    install -o postgres -g postgres -m 0640 "$hba" "$rhba"
    if pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$REPLICA_NAME" reload
    fi
  fi
  local attempt
  for attempt in 1 2; do
    if ! pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
      say "démarrage de la réplique $PG_VERSION/$REPLICA_NAME (127.0.0.1:$REPLICA_PORT)"
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$REPLICA_NAME" start || true
      for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT" && break; sleep 0.5; done
    fi
    # a replay left paused (pg_wal_replay_pause(), e.g. by a test that was killed) resumes
    if [ "$(replica_sql 'SELECT pg_is_in_recovery() AND pg_is_wal_replay_paused()' 2>/dev/null)" = "t" ]; then
      say "réplique : reprise du rejeu des WAL (il était en pause)"
      replica_sql 'SELECT pg_wal_replay_resume()' >/dev/null
    fi
    if replica_streams; then
      return 0
    fi
    [ "$attempt" = 2 ] && break
    say "la réplique ne suit pas le primaire : reconstruction"
    build_replica
  done
  say "la réplique $PG_VERSION/$REPLICA_NAME ne réplique pas (voir /var/log/postgresql/postgresql-$PG_VERSION-$REPLICA_NAME.log)"
  exit 1
}
