#!/usr/bin/env bash
# Installs (apt) and runs the servers the tests and the local drill need, on loopback only.
#   scripts/services.sh up      install what is missing, start Postgres and Redis (idempotent)
#   scripts/services.sh down    stop them
#   scripts/services.sh status  say what runs
#   scripts/services.sh env     print the connection variables (eval "$(scripts/services.sh env)")
# Prometheus, Alertmanager and nginx (the caching proxy) are installed here but started by the tests, the drill
# and the benches with their own configs.
set -euo pipefail

# Outside $HOME: the postgres user (see as_pg) must be able to reach it.
STATE_DIR="${BOOKING_SERVICES_DIR:-/var/tmp/concert-booking/services}"
PG_PORT="${BOOKING_PG_PORT:-54329}"
REDIS_PORT="${BOOKING_REDIS_PORT:-63799}"
PG_DATA="$STATE_DIR/postgres"
REDIS_DIR="$STATE_DIR/redis"
APT_PACKAGES=(postgresql redis-server prometheus prometheus-alertmanager nginx-light)

log() { echo "services: $*" >&2; }

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || return 1
  echo "$dir"
}

missing_packages() {
  local missing=()
  pg_bindir >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  echo "${missing[@]:-}"
}

install_missing() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return 0
  log "installing with apt: $missing"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Debian's postinstall scripts try to start the daemons; policy-rc.d keeps them down (we run our own on loopback).
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Postgres refuses to run as root: run its tools as the 'postgres' user the Debian package creates.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

start_postgres() {
  local bin
  bin=$(pg_bindir)
  mkdir -p "$STATE_DIR"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if ! pg_running; then
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c shared_buffers=256MB" start >/dev/null
  fi
  local psql=("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='booking'")" != "1" ]; then
    "${psql[@]}" -c "create role booking login superuser password 'booking'" >/dev/null
  fi
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='booking'")" != "1" ]; then
    "${psql[@]}" -c "create database booking owner booking" >/dev/null
  fi
}

redis_running() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; }

start_redis() {
  mkdir -p "$REDIS_DIR"
  redis_running && return 0
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis_running && return 0; sleep 0.1; done
  log "redis did not answer on port $REDIS_PORT (log: $REDIS_DIR/redis.log)"; return 1
}

print_env() {
  echo "export DATABASE_URL=postgres://booking:booking@127.0.0.1:$PG_PORT/booking"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export BOOKING_PG_BINDIR=$(pg_bindir)"
}

case "${1:-}" in
  up)
    install_missing
    start_postgres
    start_redis
    log "postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT (state in $STATE_DIR)"
    ;;
  down)
    if pg_bindir >/dev/null && pg_running; then as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; fi
    if redis_running; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
    log "stopped"
    ;;
  status)
    if pg_bindir >/dev/null && pg_running; then echo "postgres: running on 127.0.0.1:$PG_PORT"; else echo "postgres: stopped"; fi
    if command -v redis-cli >/dev/null && redis_running; then echo "redis: running on 127.0.0.1:$REDIS_PORT"; else echo "redis: stopped"; fi
    for tool in promtool amtool prometheus; do command -v "$tool" >/dev/null && echo "$tool: installed" || echo "$tool: missing"; done
    ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
