import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isAgentError } from '../errors.js';
import type { RunDeps } from './context.js';
import { acquireLock } from './lock.js';
import { createMountNote } from './notes.js';
import { createProgressFile } from './progress.js';
import { recordDeadRun } from './record-dead-run.js';
import { recoverMount, recoverServer, type RecoveryResult } from './recover.js';
import { newRunId } from './run-backup.js';
import { createServerMarker } from './server-marker.js';
import { removeLeftoverDrills } from '../verify/drill.js';

/**
 * Recovery as `recover` and the daemon's start do it: under the run lock, so a live run's stopped
 * server is left to that run ('busy'). Throws SERVER_START_FAILED when the server cannot be
 * started (already logged loudly).
 */
export async function runRecovery(
  deps: Pick<
    RunDeps,
    'config' | 'logger' | 'docker' | 'clock' | 'drive' | 'history' | 'agentVersion'
  >,
): Promise<RecoveryResult | { action: 'busy' }> {
  const { config, logger } = deps;
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 });
  let lock;
  try {
    lock = await acquireLock(path.join(config.stateDir, 'run.lock'), {
      runId: newRunId(deps.clock()),
      trigger: 'recover',
      startedAt: deps.clock().toISOString(),
    });
  } catch (error) {
    if (isAgentError(error, 'ALREADY_RUNNING')) {
      logger.info(
        { step: 'recover' },
        `${error.message} That run restarts the server itself; nothing to recover.`,
      );
      return { action: 'busy' };
    }
    throw error;
  }
  try {
    const result = await recoverServer(deps.docker, createServerMarker(config.stateDir), logger);
    await recoverMount(deps.drive, createMountNote(config.stateDir), logger);
    // After the server is back: a record that cannot be written must not keep it down.
    await recordDeadRun({ ...deps, progress: createProgressFile(config.stateDir) });
    await removeLeftoverDrills(deps.docker, config.stateDir, logger);
    if (result.action === 'none')
      logger.info(
        { step: 'recover' },
        'Nothing to recover: no run left the Immich server stopped.',
      );
    return result;
  } finally {
    await lock.release();
  }
}
