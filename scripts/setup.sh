#!/usr/bin/env bash
# Sets up everything geotranquil needs, idempotently: system packages, PostgreSQL + PostGIS
# running, the Python virtual environment with the package, the database migrated.
# Safe to run any number of times. Set GEOTRANQUIL_SKIP_SYSTEM=1 to leave the system alone
# (e.g. when GEOTRANQUIL_DATABASE_URL points at an existing PostgreSQL/PostGIS server).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

PG_VERSION=15
export DEBIAN_FRONTEND=noninteractive

if [ "${GEOTRANQUIL_SKIP_SYSTEM:-0}" != "1" ]; then
  missing=()
  # redis-server: state shared by the workers; nginx: the tests' and benchmarks' proxy;
  # wrk: the load generator of benchmarks/serving_workers.py; fonts-dejavu-core: the font the
  # maps' street names are drawn with; libpango-1.0-0, libpangoft2-1.0-0: WeasyPrint (the
  # bulletin's PDF); poppler-utils: pdftotext/pdftoppm read the bulletin in the tests
  # pgbouncer: the connection pooler in front of PostgreSQL (scripts/pg_topology.sh)
  for pkg in "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" gdal-bin chromium \
      fonts-dejavu-core redis-server nginx wrk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils \
      pgbouncer; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # npm may come with another Node.js package (NodeSource's nodejs carries it): ask Debian for
  # its npm only when there is none at all
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installation des paquets système : ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PG_VERSION main$"; then
    say "création du cluster PostgreSQL $PG_VERSION/main"
    pg_createcluster "$PG_VERSION" main >/dev/null
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "démarrage de PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  # Redis (limits, tiles and keys shared by the workers): started when the local one the
  # default GEOTRANQUIL_REDIS_URL names does not answer; another URL is left alone.
  redis_url="${GEOTRANQUIL_REDIS_URL:-redis://127.0.0.1:6379/0}"
  if [[ "$redis_url" =~ ^redis://(127\.0\.0\.1|localhost)(:6379)?(/[0-9]+)?$ ]] \
      && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "démarrage de Redis"
    install -d -o redis -g redis /run/redis /var/log/redis /var/lib/redis 2>/dev/null || true
    service redis-server start >/dev/null 2>&1 \
      || su redis -s /bin/sh -c "redis-server /etc/redis/redis.conf --daemonize yes" \
      || redis-server /etc/redis/redis.conf --daemonize yes
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { say "Redis ne démarre pas"; exit 1; }
  fi
  # A fresh Debian cluster asks for a password over TCP: give the local superuser the one in
  # the default URL (local development only; see README for a real server).
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    say "mot de passe du rôle postgres local (développement)"
    su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\""
  fi
  # PgBouncer on 127.0.0.1:6432 and the streaming read replica on 127.0.0.1:5433 (README,
  # « Topologie ») ; GEOTRANQUIL_SKIP_REPLICA=1 leaves both alone
  if [ "${GEOTRANQUIL_SKIP_REPLICA:-0}" != "1" ]; then
    . scripts/pg_topology.sh
    setup_pgbouncer
    setup_replica
  fi
fi

if [ ! -x .venv/bin/python ]; then
  say "création de l'environnement virtuel .venv"
  python3 -m venv .venv
fi
# The dependencies at the exact versions of requirements.lock (written by scripts/lock.sh),
# then the package itself without resolving anything; re-done only when the lock file or
# pyproject.toml changes.
stamp=".venv/.geotranquil-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installation des dépendances (requirements.lock) et du paquet"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.geotranquil-* && touch "$stamp"
fi

# The web map's JavaScript (MapLibre GL JS) from the npm registry, re-installed when the lock
# file changes; nothing of it is committed, nothing is fetched at run time.
if [ -f web/package-lock.json ] && ! command -v npm >/dev/null 2>&1; then
  say "npm introuvable : la carte web (/carte) restera indisponible (paquet Debian npm)"
elif [ -f web/package-lock.json ]; then
  web_stamp="web/node_modules/.geotranquil-$(sha256sum web/package-lock.json | cut -c1-16)"
  if [ ! -f "$web_stamp" ]; then
    say "installation de la carte web (npm ci dans web/)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    rm -f web/node_modules/.geotranquil-* && touch "$web_stamp"
  fi
fi

say "base de données : création, migrations, catégories"
.venv/bin/geotranquil db upgrade
