import { readdir, stat } from 'node:fs/promises';
import { AgentError } from '../../errors.js';
import type { StepContext } from '../context.js';

export interface Preflight {
  serverWasRunning: boolean;
}

/**
 * Read-only checks before anything is stopped: the Docker engine answers, both containers
 * exist, the database runs (a dump needs it), and the library is there. Whatever fails here
 * fails with the server untouched.
 */
export async function preflight(context: StepContext): Promise<Preflight> {
  const { config, docker, log } = context;
  const { serverContainer, databaseContainer, databaseName, libraryDir } = config.immich;
  await docker.ping();
  const server = await docker.inspect(serverContainer);
  if (server === null) {
    throw new AgentError(
      'CONTAINER_MISSING',
      `There is no container named ${serverContainer} (the Immich server).`,
      {
        step: 'preflight',
        hint: 'Check immich.serverContainer against `docker ps -a`.',
      },
    );
  }
  const database = await docker.inspect(databaseContainer);
  if (database === null || !database.running) {
    throw new AgentError(
      'DUMP_FAILED',
      database === null
        ? `There is no container named ${databaseContainer} (the Immich database); the database cannot be dumped.`
        : `The database container ${databaseContainer} is ${database.status}; the database cannot be dumped.`,
      {
        step: 'preflight',
        hint:
          database === null
            ? 'Check immich.databaseContainer against `docker ps -a`.'
            : `Start it (docker start ${databaseContainer}) and run again.`,
      },
    );
  }
  try {
    const info = await stat(libraryDir);
    if (!info.isDirectory()) throw new Error('not a folder');
    await readdir(libraryDir);
  } catch (error) {
    throw new AgentError(
      'LIBRARY_UNAVAILABLE',
      `The Immich library ${libraryDir} cannot be read (${(error as Error).message}).`,
      {
        step: 'preflight',
        hint: 'Is the disk holding the library mounted? Check immich.libraryDir (UPLOAD_LOCATION).',
        cause: error,
      },
    );
  }
  log.info(
    { step: 'preflight' },
    `Docker answers; ${serverContainer} is ${server.status}, ${databaseContainer} (database ${databaseName}) is running; the library is at ${libraryDir}.`,
  );
  return { serverWasRunning: server.running };
}
