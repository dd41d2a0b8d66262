import type { DockerAdapter } from './docker.js';

/**
 * The database as a libpq connection string that names only it: `dbname='…'` with `'` and `\`
 * escaped. Given as `--dbname=` to pg_dump and psql, a name is then always a name: a bare
 * `--file=…` would be an option, a bare `dbname=postgres host=…` a whole connection string.
 */
export function databaseConninfo(database: string): string {
  return `dbname='${database.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

/** psql's arguments for one statement, its result unaligned and without headers. */
export function psqlArgs(user: string, database: string, sql: string): string[] {
  return [
    'psql',
    '-X',
    '-A',
    '-t',
    '--no-password',
    `--username=${user}`,
    `--dbname=${databaseConninfo(database)}`,
    '-c',
    sql,
  ];
}

/** The PostgreSQL server's version (`SHOW server_version`), or null when it cannot be asked. */
export async function postgresServerVersion(
  docker: DockerAdapter,
  container: string,
  user: string,
  database: string,
  password?: string,
): Promise<string | null> {
  try {
    const result = await docker.execCollect(
      container,
      psqlArgs(user, database, 'SHOW server_version;'),
      password ? [`PGPASSWORD=${password}`] : [],
    );
    return result.exitCode === 0 ? result.stdout.trim() || null : null;
  } catch {
    return null;
  }
}

/**
 * Waits until the database container's PostgreSQL is the server that stays, with `database`
 * in it. The official postgres image (and Immich's, built on it) first runs a temporary server
 * on the Unix socket only (`listen_addresses=''`) while it creates POSTGRES_DB and runs its init
 * scripts, then stops it and starts the real one: pg_isready answers the temporary server too,
 * so a restore that trusted it would go into a database that does not exist yet, or into a
 * server that is shutting down. The real server listens beyond the socket, or is the
 * container's main process (PID 1) when an image keeps it socket-only.
 */
export async function waitForDatabaseServer(
  docker: DockerAdapter,
  container: string,
  options: { user: string; database: string; password?: string; timeoutMs: number },
): Promise<boolean> {
  const env = options.password ? [`PGPASSWORD=${options.password}`] : [];
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const answer = await docker
      .execCollect(
        container,
        psqlArgs(options.user, options.database, "SELECT current_setting('listen_addresses');"),
        env,
      )
      .catch(() => null);
    if (answer?.exitCode === 0) {
      if (answer.stdout.trim() !== '') return true;
      const main = await docker.execCollect(container, ['cat', '/proc/1/comm']).catch(() => null);
      if (main?.exitCode === 0 && /^postgres/.test(main.stdout.trim())) return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
