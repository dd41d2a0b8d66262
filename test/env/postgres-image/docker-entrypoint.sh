#!/usr/bin/env bash
# Entry point of the test bed's PostgreSQL image. It starts the way the official postgres image
# does (and so Immich's database image, which is built on it), because a backup tool meets that
# start-up when it starts a throwaway container for a restore drill:
#   1. as root: $PGDATA (0700) and the socket folder are made the postgres user's, then the script
#      runs again as postgres (setpriv; the official image uses gosu);
#   2. on an empty $PGDATA: initdb, the official pg_hba, a TEMPORARY server on the Unix socket
#      only, POSTGRES_DB created, /docker-entrypoint-initdb.d/* run, the temporary server stopped;
#   3. exec postgres: the real server is PID 1, listens on '*' and gets Docker's STOPSIGNAL.
# pg_isready answers already in step 2, which is why waiting for it is not waiting for the server.
# Not modelled: the *_FILE variables, POSTGRES_INITDB_WALDIR, nss_wrapper for arbitrary --user.
set -Eeo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_INITDB_ARGS:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=}"
export PGDATA POSTGRES_USER POSTGRES_DB

# psql as the init phase uses it: the socket (PGHOST emptied), stop at the first error.
process_sql() {
  PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
    --no-psqlrc "$@"
}

# The official image's order: *.sh run when executable, sourced otherwise; SQL through psql into
# POSTGRES_DB; anything else is ignored, with a line saying so.
process_init_files() {
  local file
  for file; do
    case "$file" in
      *.sh)
        if [ -x "$file" ]; then
          printf '%s: running %s\n' "$0" "$file"
          "$file"
        else
          printf '%s: sourcing %s\n' "$0" "$file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql)
        printf '%s: running %s\n' "$0" "$file"
        process_sql --dbname "$POSTGRES_DB" -f "$file"
        ;;
      *.sql.gz)
        printf '%s: running %s\n' "$0" "$file"
        gunzip -c "$file" | process_sql --dbname "$POSTGRES_DB"
        ;;
      *) printf '%s: ignoring %s\n' "$0" "$file" ;;
    esac
  done
}

# Arguments: the real server's options (`postgres -c …` of the command), which the temporary server
# gets too, as in the official image.
initialise() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
    echo '       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust).' >&2
    exit 1
  fi
  # No --auth: initdb's default pg_hba trusts the socket and the loopback addresses, as in the
  # official image; POSTGRES_INITDB_ARGS is split like the official image's eval does.
  eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"

  # Then every other host: the method password_encryption implies (scram-sha-256 since 14).
  : "${POSTGRES_HOST_AUTH_METHOD:=$(postgres -C password_encryption "$@")}"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # The temporary server: socket only, so nothing from outside reaches a half-made database.
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start

  if [ -z "$(process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")" ]; then
    process_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  process_init_files /docker-entrypoint-initdb.d/*

  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  printf '\nPostgreSQL init process complete; ready for start up.\n\n'
}

# A first argument that is an option means: postgres with these options.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
  # Failures are ignored here as in the official image (a --user without rights to chmod).
  mkdir -p "$PGDATA" /var/run/postgresql || :
  chmod 0700 "$PGDATA" || :
  chmod 3775 /var/run/postgresql || :
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
    # Again, as postgres: initdb and the server refuse to run as root. HOME as gosu sets it.
    HOME=$(getent passwd postgres | cut -d: -f6)
    export HOME
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
  fi
  if [ -s "$PGDATA/PG_VERSION" ]; then
    printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
  else
    initialise "${@:2}"
  fi
fi

# exec: PostgreSQL becomes PID 1 and gets Docker's STOPSIGNAL (SIGINT, a fast shutdown).
exec "$@"
