import type { DockerAdapter } from '../adapters/docker.js';
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
