import { loadConfig, resolveConfigFile } from '../config/load.js';
import { isAgentError } from '../errors.js';
import { runRecovery } from '../run/recover-with-lock.js';
import { exitCodes } from './exit-codes.js';
import { createLoggerFor, createRunDeps } from './setup.js';

/**
 * `recover`: starts the Immich server if a run that stopped it died. Exit 0 when nothing was
 * left stopped or it runs again, 75 while a live run holds the lock, 1 when it cannot be started.
 */
export async function recoverCommand(configFlag: string | undefined): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const logger = createLoggerFor(config, { writeFile: true });
  try {
    const result = await runRecovery(createRunDeps(config, logger, new AbortController().signal));
    return result.action === 'busy' ? exitCodes.retryLater : exitCodes.ok;
  } catch (error) {
    if (isAgentError(error)) return exitCodes.failed; // already logged loudly
    throw error;
  }
}
