import { isAgentError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { recoverWithLock } from '../session/recovery.js';
import { openCommand } from './setup.js';

/**
 * `recover`: starts the Immich server if a run that stopped it died. Exit 0 when nothing was
 * left stopped or it runs again, 75 while a live run holds the lock, 1 when it cannot be started.
 */
export async function recoverCommand(configFlag: string | undefined): Promise<number> {
  const command = await openCommand(configFlag, { writeFile: true, signals: false });
  try {
    const result = await recoverWithLock(command.deps);
    return result.action === 'busy' ? exitCodes.retryLater : exitCodes.ok;
  } catch (error) {
    if (isAgentError(error)) return exitCodes.failed; // already logged by the recovery
    throw error;
  } finally {
    command.close();
  }
}
