import type { DockerAdapter } from './docker.js';

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
      [
        'psql',
        '-X',
        '-A',
        '-t',
        '--no-password',
        `--username=${user}`,
        `--dbname=${database}`,
        '-c',
        'SHOW server_version;',
      ],
      password ? [`PGPASSWORD=${password}`] : [],
    );
    return result.exitCode === 0 ? result.stdout.trim() || null : null;
  } catch {
    return null;
  }
}
