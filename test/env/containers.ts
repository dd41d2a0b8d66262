import { execa } from 'execa';
import type { Sandbox } from './sandbox.js';

/**
 * Built by setup.sh: Debian's PostgreSQL 17 with pgvector, started like the official postgres
 * image (and so Immich's database image). IBA_TEST_IMAGE overrides it.
 */
export const postgresImage =
  process.env.IBA_TEST_IMAGE ?? 'immich-backup-agent-test/postgres:17-pgvector';
/** The same start-up on PostgreSQL 13 (no pgvector): a PostgreSQL before 15. */
export const olderPostgresImage =
  process.env.IBA_TEST_OLDER_IMAGE ?? 'immich-backup-agent-test/postgres:13';
export const ownerLabel = 'immich-backup-agent-test.owner';

export interface DatabaseOptions {
  user?: string;
  password?: string;
  database?: string;
  /** POSTGRES_INITDB_ARGS; Immich's compose file passes '--data-checksums', and so by default do we. */
  initdbArgs?: string;
  /** How long the image's init phase lasts (IBA_TEST_INIT_SECONDS; the image's default is 3). */
  initSeconds?: number;
  /** Return as soon as the container runs, without waiting for the real server (default: wait). */
  wait?: boolean;
  /** The image (default: postgresImage). */
  image?: string;
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
  const user = options.user ?? 'postgres';
  const database = options.database ?? 'immich';
  sandbox.defer(`remove container ${name}`, () => removeContainer(name));
  const env = [
    `POSTGRES_USER=${user}`,
    `POSTGRES_PASSWORD=${options.password ?? 'postgres'}`,
    `POSTGRES_DB=${database}`,
    `POSTGRES_INITDB_ARGS=${options.initdbArgs ?? '--data-checksums'}`,
  ];
  if (options.initSeconds !== undefined) env.push(`IBA_TEST_INIT_SECONDS=${options.initSeconds}`);
  await execa('docker', [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${ownerLabel}=${sandbox.id}`,
    '--network',
    'none',
    // Immich's compose file gives the database 128 MB of shared memory.
    '--shm-size',
    '128m',
    ...env.flatMap((entry) => ['--env', entry]),
    options.image ?? postgresImage,
  ]);
  if (options.wait !== false) await waitForPostgres(name, user, database);
  return name;
}

/**
 * Is the REAL server up, with the database? Not what pg_isready says: during the image's init
 * phase a temporary server answers on the socket (pg_isready succeeds, even for a database that
 * does not exist yet) and is then stopped. The real server is the postmaster that is PID 1 (the
 * entry point execs it), or, in an image where it is not, the one listening on TCP: the temporary
 * server listens on the socket only. Then the database must take a query.
 */
const realServerProbe = `
pid=$(head -n 1 "\${PGDATA:-/var/lib/postgresql/data}/postmaster.pid" 2>/dev/null || true)
if [ "$pid" != 1 ] && ! pg_isready -q -h 127.0.0.1 -p "\${PGPORT:-5432}"; then
  echo "only the init phase's temporary server runs (postmaster pid: \${pid:-none})" >&2
  exit 1
fi
exec psql -X -q -A -t -v ON_ERROR_STOP=1 --username="$1" --dbname="$2" -c 'SELECT 1' >/dev/null`;

export async function waitForPostgres(
  name: string,
  user: string,
  database: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const probe = await execa(
      'docker',
      ['exec', name, 'sh', '-c', realServerProbe, 'probe', user, database],
      { reject: false },
    );
    if (probe.exitCode === 0) return;
    last = probe.stderr.trim();
    if (!(await isRunning(name))) {
      const logs = await execa('docker', ['logs', '--tail', '30', name], {
        reject: false,
        all: true,
      });
      throw new Error(`PostgreSQL in ${name} exited before it was ready:\n${logs.all ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`PostgreSQL in ${name} did not become ready in ${timeoutMs} ms: ${last}`);
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
