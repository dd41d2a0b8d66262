import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import type { MountedDrive, Note } from './notes.js';
import type { Logger } from '../log/logger.js';
import type { ServerMarker } from './server-marker.js';
import { startServer } from './server-control.js';

export type RecoveryResult =
  { action: 'none' } | { action: 'started'; container: string; stoppedAt: string; runId: string };

/**
 * Brings the Immich server back if a run that stopped it died without restarting it (SIGKILL,
 * power cut). Called at the start of every run and of the daemon, and by `recover`; always
 * while holding the run lock, so a live run's stop is never undone behind its back.
 */
export async function recoverServer(
  docker: DockerAdapter,
  marker: ServerMarker,
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
 * is still mounted there; a mount made by someone else is left alone. Called with the lock held.
 */
export async function recoverMount(
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
