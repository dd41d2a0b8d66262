import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import { isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { recordDeadRun } from './dead-run.js';
import type { RunDeps } from './deps.js';
import { removeLeftoverDrills } from './leftover-drills.js';
import { takeRunLock } from './lock.js';
import { newRunId } from './run-id.js';
import { startServer } from './server.js';
import { stateNotes, type MountedDrive, type Note, type StoppedServer } from './state-notes.js';

export type RecoveryResult =
  { action: 'none' } | { action: 'started'; container: string; stoppedAt: string; runId: string };

/**
 * Puts back what a run that died (SIGKILL, a power cut) left: the Immich server it stopped
 * (first: Immich must never stay down), the drive it mounted, its missing record (after the
 * server is back: a record that cannot be written must not keep it down), the drill containers it
 * started. Called with the run lock held, so nothing of a live run is touched: by every run
 * before it starts, by the daemon at start and by `recover` (both through recoverWithLock).
 * Throws SERVER_START_FAILED when the server cannot be started (already logged loudly).
 */
export async function recoverLeftovers(
  deps: Pick<RunDeps, 'config' | 'docker' | 'drive' | 'history' | 'agentVersion'>,
  logger: Logger,
): Promise<RecoveryResult> {
  const notes = stateNotes(deps.config.stateDir);
  const result = await recoverServer(deps.docker, notes.serverStopped, logger);
  await recoverMount(deps.drive, notes.driveMounted, logger);
  await recordDeadRun({ ...deps, logger, progress: notes.progress });
  await removeLeftoverDrills(deps.docker, deps.config.stateDir, logger);
  return result;
}

/**
 * Recovery as `recover` and the daemon's start do it: under the run lock, so a live run's
 * stopped server is left to that run ('busy').
 */
export async function recoverWithLock(
  deps: Pick<
    RunDeps,
    'config' | 'logger' | 'docker' | 'clock' | 'drive' | 'history' | 'agentVersion'
  >,
): Promise<RecoveryResult | { action: 'busy' }> {
  const { config, logger } = deps;
  let lock;
  try {
    lock = await takeRunLock(config.stateDir, {
      runId: newRunId(deps.clock()),
      trigger: 'recover',
      startedAt: deps.clock().toISOString(),
    });
  } catch (error) {
    if (!isAgentError(error, 'ALREADY_RUNNING'))
      logger.error({ step: 'recover', err: error }, `Recovery failed: ${(error as Error).message}`);
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
    const result = await recoverLeftovers(deps, logger).catch((error: unknown) => {
      // A server that cannot be started is told loudly where it happens; anything else here.
      if (!isAgentError(error, 'SERVER_START_FAILED'))
        logger.error(
          { step: 'recover', err: error },
          `Recovery failed: ${(error as Error).message}`,
        );
      throw error;
    });
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

/** Brings the Immich server back if a run that stopped it died without restarting it. */
async function recoverServer(
  docker: DockerAdapter,
  marker: Note<StoppedServer>,
  logger: Logger,
): Promise<RecoveryResult> {
  const note = await marker.read();
  if (note === null) return { action: 'none' };
  const state = await docker.inspect(note.container);
  if (state?.running) {
    logger.info(
      { step: 'recover' },
      `${note.container} is already running again; clearing the note left by run ${note.runId}.`,
    );
    await marker.clear();
    return { action: 'none' };
  }
  logger.warn(
    { step: 'recover', container: note.container, staleRunId: note.runId },
    `Run ${note.runId} stopped ${note.container} at ${note.stoppedAt} and died before starting it again; starting it now.`,
  );
  await startServer(docker, marker, note.container, logger);
  logger.info({ step: 'recover' }, `${note.container} is running again.`);
  return {
    action: 'started',
    container: note.container,
    stoppedAt: note.stoppedAt,
    runId: note.runId,
  };
}

/**
 * Unmounts the drive a dead run had mounted (and would have unmounted in its `finally`), if it
 * is still mounted there; a mount made by someone else is left alone.
 */
async function recoverMount(
  drive: DriveAdapter,
  note: Note<MountedDrive>,
  logger: Logger,
): Promise<boolean> {
  const entry = await note.read();
  if (entry === null) return false;
  const mounted = await drive.mountAt(entry.mountPoint);
  let unmounted = false;
  if (mounted && mounted.source === entry.device) {
    logger.warn(
      { step: 'recover', mountPoint: entry.mountPoint, staleRunId: entry.runId },
      `Run ${entry.runId} mounted the drive at ${entry.mountPoint} and died before unmounting it; unmounting it now.`,
    );
    await drive.unmount(entry.mountPoint);
    unmounted = true;
  }
  await note.clear();
  return unmounted;
}
