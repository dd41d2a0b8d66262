import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { Logger } from '../log/logger.js';
import { stateNotes } from './state-notes.js';
import { startServer } from './server-start.js';
import { startServerSeenRunning, serverStayedUp } from './server-stayed-up.js';
import type { UndoStack } from './undo-stack.js';

export { serverStableMs, startServer } from './server-start.js';

export interface ServerDowntime {
  container: string;
  stoppedAt: string | null;
  startedAt: string | null;
  downtimeMs: number;
}

/**
 * Stops the Immich server with its restart registered first: the note for `recover` is written,
 * then the undo, then the stop is asked for; so a stop that fails half-way, an error, SIGTERM or
 * SIGKILL all end with the server started again. Fills in `downtime` (the caller's record of it)
 * as it goes, so the record is right whichever way it ends.
 */
export async function stopServerWithRestart(options: {
  docker: DockerAdapter;
  stateDir: string;
  container: string;
  timeoutSeconds: number;
  undo: UndoStack;
  log: Logger;
  runId: string;
  clock: () => Date;
  why: string;
  downtime: ServerDowntime;
  /**
   * `wait` (default): start() waits until the server has run for serverStableMs. `at-the-end`:
   * start() returns once it runs, and stayedUp() checks at the end of the run that it still
   * runs and was not restarted since, so the watch overlaps the run's tail. An undo run by a
   * failure or SIGTERM always waits.
   */
  stayUpCheck?: 'wait' | 'at-the-end';
}): Promise<ServerRestart> {
  const { docker, container, undo, log, clock, downtime } = options;
  const marker = stateNotes(options.stateDir).serverStopped;
  await marker.write({
    container,
    runId: options.runId,
    pid: process.pid,
    stoppedAt: clock().toISOString(),
  });
  let checkAtTheEnd = false;
  let stayedUp: () => Promise<void> = () => Promise.resolve();
  const restartNow = undo.push(`start ${container} again`, async () => {
    if (checkAtTheEnd) {
      const seen = await startServerSeenRunning(docker, container, log);
      stayedUp = undo.push(`check that ${container} stayed up`, () =>
        serverStayedUp(docker, marker, container, seen, log),
      );
    } else {
      await startServer(docker, marker, container, log);
    }
    const startedAt = clock();
    downtime.startedAt = startedAt.toISOString();
    downtime.downtimeMs = downtime.stoppedAt
      ? startedAt.getTime() - Date.parse(downtime.stoppedAt)
      : 0;
    log.info(
      { step: 'restart', downtimeMs: downtime.downtimeMs },
      `${container} is running again (down for ${formatDuration(downtime.downtimeMs)}).`,
    );
  });
  log.info({ step: 'stop' }, `Stopping ${container} ${options.why}.`);
  downtime.stoppedAt = clock().toISOString();
  try {
    await docker.stop(container, options.timeoutSeconds);
  } catch (error) {
    const failure = toAgentError(error, 'SERVER_STOP_FAILED', 'stop');
    throw failure.code === 'INTERNAL'
      ? new AgentError('SERVER_STOP_FAILED', `Could not stop ${container}: ${failure.message}`, {
          step: 'stop',
          hint: 'Nothing was backed up; the server is being started again. Check `docker logs` for why it would not stop.',
          cause: error,
        })
      : failure;
  }
  log.info({ step: 'stop' }, `${container} is stopped.`);
  return {
    start: async () => {
      checkAtTheEnd = options.stayUpCheck === 'at-the-end';
      await restartNow();
    },
    stayedUp: () => stayedUp(),
  };
}

/** The undo of a stop, for the caller to run at its place in its list. */
export interface ServerRestart {
  /** Starts the server again (once: a second call does nothing). */
  start: () => Promise<void>;
  /** With stayUpCheck `at-the-end`, after start(): is it still up, not restarted since? */
  stayedUp: () => Promise<void>;
}
