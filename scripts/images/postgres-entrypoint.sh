#!/bin/sh
# What the charts use of the official image's docker-entrypoint.sh: arguments starting with "-" go to
# postgres; an empty PGDATA is initialized with POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB
# (password logins from the network, scram-sha-256) before postgres starts. Each of the three may come from
# the file NAME_FILE names instead (the charts mount them from a Secret), as with the official image.
set -eu
file_env() {
  eval "value=\${$1:-}"
  eval "file=\${$1_FILE:-}"
  if [ -n "$value" ] && [ -n "$file" ]; then
    echo "docker-entrypoint.sh: both $1 and $1_FILE are set" >&2
    exit 1
  fi
  if [ -n "$file" ]; then export "$1=$(cat "$file")"; fi
}
for variable in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB; do file_env "$variable"; done
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?is required to initialize $PGDATA}"
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  password_file="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
  initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  rm -f "$password_file"
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    pg_ctl --wait --options="-c listen_addresses=''" start
    psql --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 \
      --command="CREATE DATABASE \"$database\""
    pg_ctl --wait --mode=fast stop
  fi
fi
exec "$@"
