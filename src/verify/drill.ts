import { randomBytes } from 'node:crypto';
import type { DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter } from '../adapters/docker.js';
import { psqlArgs, waitForDatabaseServer } from '../adapters/database-info.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { restoreDump } from '../restore/dump-stream.js';
import { drillLabel, drillOwner } from '../session/leftover-drills.js';

/** Immich's main tables, by their current and their older (plural) names. */
const mainTables = ['asset', 'assets', 'album', 'albums', 'user', 'users'];

export interface DrillResult {
  image: string;
  tables: Record<string, number>;
  durationMs: number;
}

/**
 * A restore drill: a throwaway container from the database container's own image (so the same
 * PostgreSQL and extensions), the dump restored into it the way Immich documents, the main
 * tables counted. The container is removed whatever happens.
 */
export async function restoreDrill(
  docker: DockerAdapter,
  options: {
    databaseContainer: string;
    user: string;
    database: string;
    dumpFile: string;
    format: DumpFormat;
    log: Logger;
    /** The installation's state folder: the drill container is labelled with it. */
    stateDir: string;
  },
): Promise<DrillResult> {
  const started = Date.now();
  const source = await docker.inspect(options.databaseContainer);
  if (source === null) {
    throw new AgentError(
      'VERIFY_FAILED',
      `The drill needs the database container's image, but ${options.databaseContainer} does not exist.`,
      { step: 'drill' },
    );
  }
  const name = `immich-backup-agent-drill-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  options.log.info(
    { step: 'drill', image: source.image },
    `Restore drill: a throwaway ${source.image} container (${name}).`,
  );
  try {
    await docker.runThrowaway({
      name,
      image: source.image,
      env: [
        `POSTGRES_PASSWORD=${password}`,
        `POSTGRES_USER=${options.user}`,
        `POSTGRES_DB=${options.database}`,
      ],
      labels: { [drillLabel]: drillOwner(options.stateDir) },
    });
    // Not just pg_isready: the image's temporary init server answers that too.
    const ready = await waitForDatabaseServer(docker, name, {
      user: options.user,
      database: options.database,
      password,
      timeoutMs: 120_000,
    });
    if (!ready) {
      throw new AgentError(
        'VERIFY_FAILED',
        `PostgreSQL in the drill container (${source.image}) did not finish starting within two minutes.`,
        {
          step: 'drill',
          hint: `Check that the image starts on its own: docker run --rm --env POSTGRES_PASSWORD=test ${source.image}`,
        },
      );
    }
    const restored = await restoreDump(docker, options.dumpFile, options.format, {
      container: name,
      user: options.user,
      database: options.database,
      password,
    });
    if (restored.exitCode !== 0) {
      throw new AgentError(
        'VERIFY_FAILED',
        `The dump does not restore: psql exited with ${restored.exitCode}: ${restored.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        {
          step: 'drill',
        },
      );
    }
    const tables = await countMainTables(docker, name, options.user, options.database, password);
    if (Object.keys(tables).length === 0) {
      throw new AgentError(
        'VERIFY_FAILED',
        'The dump restores, but none of Immich’s main tables (asset, album, user) is in it.',
        { step: 'drill' },
      );
    }
    return { image: source.image, tables, durationMs: Date.now() - started };
  } finally {
    await docker.remove(name).catch((error: unknown) => {
      options.log.error(
        { step: 'drill', err: error },
        `Could not remove the drill container ${name}: ${(error as Error).message}`,
      );
    });
  }
}

async function countMainTables(
  docker: DockerAdapter,
  name: string,
  user: string,
  database: string,
  password: string,
): Promise<Record<string, number>> {
  const psql = (sql: string): Promise<string> =>
    docker
      .execCollect(name, psqlArgs(user, database, sql), [`PGPASSWORD=${password}`])
      .then((result) => result.stdout.trim());
  const list = mainTables.map((table) => `'${table}'`).join(',');
  const present = (
    await psql(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN (${list}) ORDER BY 1;`,
    )
  )
    .split('\n')
    .filter(Boolean);
  const counts: Record<string, number> = {};
  for (const table of present)
    counts[table] = Number(await psql(`SELECT count(*) FROM public."${table}";`));
  return counts;
}
