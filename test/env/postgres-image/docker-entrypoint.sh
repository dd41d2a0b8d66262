#!/bin/sh
# Entry point of the test bed's PostgreSQL image, modelled on the official image's contract
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; local socket connections trusted, so
# `docker exec <db> pg_dump --username=...` works the way Immich's docs use it).
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=postgres}"

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null <<EOF
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
EOF
  fi
fi

if [ "${1:-}" = "postgres" ]; then
  shift
  # exec: PostgreSQL becomes PID 1 and gets Docker's STOPSIGNAL (SIGINT, a fast shutdown).
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories=/var/run/postgresql "$@"
fi
exec "$@"
