# Sourced by the entry point during the init phase, after POSTGRES_DB was created, while the
# temporary server (Unix socket only) runs.
#
# It stands for the init work real images do here (Immich's, the official image's users: loading
# extensions, schemas, data), and makes deterministic the window in which pg_isready already
# answers (the temporary server) but the real server has not started: whatever trusts pg_isready
# then (a restore drill) restores into a server that is about to shut down, or, a moment earlier,
# into a database that does not exist yet. The tests must be able to catch that.
printf 'init work: %s seconds with the temporary server up\n' "${IBA_TEST_INIT_SECONDS:-3}"
sleep "${IBA_TEST_INIT_SECONDS:-3}"
