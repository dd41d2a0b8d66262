import type { DockerAdapter } from './docker.js';

/** psql's arguments for one statement, its result unaligned and without headers. */
export function psqlArgs(user: string, database: string, sql: string): string[] {
  return [
    'psql',
    '-X',
    '-A',
    '-t',
    '--no-password',
    `--username=${user}`,
    `--dbname=${database}`,
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
