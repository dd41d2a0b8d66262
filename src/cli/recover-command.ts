import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, resolveConfigFile } from '../config/load.js';
import { isAgentError } from '../errors.js';
import { acquireLock } from '../run/lock.js';
import { newRunId } from '../run/run-backup.js';
import { recoverServer } from '../run/recover.js';
import { createServerMarker } from '../run/server-marker.js';
import { exitCodes } from './exit-codes.js';
import { createLoggerFor, createRunDeps } from './setup.js';

/**
 * `recover`: starts the Immich server if a run that stopped it died. Holds the run lock while
 * doing so: a live run's stopped server is that run's business (exit 75).
 */
export async function recoverCommand(configFlag: string | undefined): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const logger = createLoggerFor(config, { writeFile: true });
  const deps = createRunDeps(config, logger, new AbortController().signal);
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 });
  let lock;
  try {
    lock = await acquireLock(path.join(config.stateDir, 'run.lock'), {
      runId: newRunId(new Date()),
      trigger: 'recover',
      startedAt: new Date().toISOString(),
    });
  } catch (error) {
    if (isAgentError(error, 'ALREADY_RUNNING')) {
      logger.info(
        { step: 'recover' },
        `${error.message} It will start the server itself; nothing to recover.`,
      );
      return exitCodes.retryLater;
    }
    throw error;
  }
  try {
    const result = await recoverServer(deps.docker, createServerMarker(config.stateDir), logger);
    if (result.action === 'none')
      logger.info(
        { step: 'recover' },
        'Nothing to recover: no run left the Immich server stopped.',
      );
    return exitCodes.ok;
  } catch (error) {
    if (isAgentError(error)) return exitCodes.failed; // already logged loudly by startServer
    throw error;
  } finally {
    await lock.release();
  }
}
