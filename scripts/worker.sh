#!/usr/bin/env bash
# A `geotranquil worker` in the background, beside the demo's server:
#   bash scripts/worker.sh start   # starts one (a worker this script started before is stopped first)
#   bash scripts/worker.sh stop    # stops it (SIGTERM: its current job ends first)
# Its process id is in var/run/worker.pid, its log in var/log/worker.log. In production, run
# the worker under systemd instead (README, "Jobs and the worker").
set -euo pipefail
cd "$(dirname "$0")/.."
PIDFILE=var/run/worker.pid
LOG=var/log/worker.log
GEOTRANQUIL=${GEOTRANQUIL_BIN:-.venv/bin/geotranquil}

ours() {  # the process of the pid file is alive and is a geotranquil worker
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "geotranquil.* worker"
}

stop() {
  if ours; then
    local pid
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 600); do   # up to a minute for the job in progress to end
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "Le travailleur $pid ne s'arrête pas : arrêt forcé (sa tâche sera reprise)." >&2
      kill -KILL "$pid"
    fi
    echo "Travailleur $pid arrêté."
  fi
  rm -f "$PIDFILE"
}

start() {
  stop
  mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
  "$GEOTRANQUIL" worker >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  echo "Travailleur démarré (processus $!, journal $LOG)."
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage : $0 start|stop" >&2; exit 2 ;;
esac
