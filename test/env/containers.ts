import { execa } from 'execa';
import type { Sandbox } from './sandbox.js';

/** Built by setup.sh: Debian's PostgreSQL 15 with the official image's conventions. */
export const postgresImage = process.env.IBA_TEST_IMAGE ?? 'immich-backup-agent-test/postgres:15';
export const ownerLabel = 'immich-backup-agent-test.owner';

export interface DatabaseOptions {
  user?: string;
  password?: string;
  database?: string;
}

/**
 * The `immich_postgres` stand-in: a real PostgreSQL in a real container, with no network (the
 * agent reaches it through `docker exec`, as Immich's docs do). Removed by the sandbox.
 */
export async function startDatabase(
  sandbox: Sandbox,
  role: string,
  options: DatabaseOptions = {},
): Promise<string> {
  const name = `iba-test-${sandbox.id}-${role}`;
  sandbox.defer(`remove container ${name}`, () => removeContainer(name));
  await execa('docker', [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${ownerLabel}=${sandbox.id}`,
    '--network',
    'none',
    '--env',
    `POSTGRES_USER=${options.user ?? 'postgres'}`,
    '--env',
    `POSTGRES_PASSWORD=${options.password ?? 'postgres'}`,
    '--env',
    `POSTGRES_DB=${options.database ?? 'immich'}`,
    postgresImage,
  ]);
  await waitForPostgres(name, options.user ?? 'postgres', options.database ?? 'immich');
  return name;
}

export async function waitForPostgres(name: string, user: string, database: string): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt += 1) {
    const ready = await execa(
      'docker',
      ['exec', name, 'pg_isready', '-q', '-U', user, '-d', database],
      { reject: false },
    );
    if (ready.exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`PostgreSQL in ${name} did not become ready`);
}

/**
 * The `immich_server` stand-in: a container that mounts the library like Immich does and stops
 * at once on SIGTERM, so stop/start are real and quick.
 */
export async function startServer(
  sandbox: Sandbox,
  role: string,
  libraryDir: string,
): Promise<string> {
  const name = `iba-test-${sandbox.id}-${role}`;
  sandbox.defer(`remove container ${name}`, () => removeContainer(name));
  await execa('docker', [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${ownerLabel}=${sandbox.id}`,
    '--network',
    'none',
    '--volume',
    `${libraryDir}:/data`,
    '--entrypoint',
    '/bin/sh',
    postgresImage,
    '-c',
    // A flag file in the library makes it fail to start, like a server that does not come back.
    'trap "exit 0" TERM INT; [ -e /data/.refuse-to-start ] && exit 3; while :; do sleep 1 & wait $!; done',
  ]);
  return name;
}

export async function isRunning(name: string): Promise<boolean> {
  const result = await execa('docker', ['inspect', '--format', '{{.State.Running}}', name], {
    reject: false,
  });
  return result.exitCode === 0 && result.stdout.trim() === 'true';
}

export async function removeContainer(name: string): Promise<void> {
  await execa('docker', ['rm', '--force', '--volumes', name], { reject: false });
}

export async function psql(
  container: string,
  sql: string,
  options: { user?: string; database?: string } = {},
): Promise<string> {
  const result = await execa(
    'docker',
    [
      'exec',
      '-i',
      container,
      'psql',
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '--username',
      options.user ?? 'postgres',
      '--dbname',
      options.database ?? 'immich',
    ],
    { input: sql },
  );
  return result.stdout.trim();
}
