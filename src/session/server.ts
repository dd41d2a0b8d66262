import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { Logger } from '../log/logger.js';
import { stateNotes, type Note, type StoppedServer } from './state-notes.js';
import type { UndoStack } from './undo-stack.js';

/** How long a restarted server must keep running to count as started. */
export const serverStableMs = 500;

/**
 * Starts the Immich server and waits until Docker reports it running (not restarting), so a
 * server that crashes straight away is reported as not started. Clears the stopped-server note
 * only once it runs. Every failure is SERVER_START_FAILED: the worst outcome, said loudly.
 */
export async function startServer(
  docker: DockerAdapter,
  marker: Note<StoppedServer>,
  container: string,
  logger: Logger,
  waitMs = 30_000,
  stableMs = serverStableMs,
): Promise<void> {
  try {
    await docker.start(container);
    // Running once is not enough: a server that crashes at start-up is running for a moment.
    // It must stay up for half a second (a crash loop under `restart: always` shows as restarting).
    const startedAt = Date.now();
    const deadline = startedAt + waitMs;
    let state = await docker.inspect(container);
    let upSince: number | null = null;
    for (;;) {
      const now = Date.now();
      if (state?.running && !state.restarting) {
        upSince ??= now;
        if (now - upSince >= stableMs) break;
      } else {
        upSince = null;
        // Exited, with no restart policy to bring it back: it will not come up.
        if (state?.status === 'exited' && now - startedAt > 1000) break;
      }
      if (now > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
      state = await docker.inspect(container);
    }
    if (!state?.running || state.restarting) {
      throw new AgentError(
        'SERVER_START_FAILED',
        `The Immich server (${container}) did not come back: Docker reports it ${state?.status ?? 'missing'}.`,
        {
          step: 'restart',
        },
      );
    }
    await marker.clear();
  } catch (error) {
    const failure = toAgentError(error, 'SERVER_START_FAILED', 'restart');
    const loud = new AgentError(
      'SERVER_START_FAILED',
      failure.code === 'SERVER_START_FAILED'
        ? failure.message
        : `The Immich server (${container}) could not be started again: ${failure.message}`,
      {
        step: 'restart',
        hint: `Immich is DOWN. Start it with: docker start ${container} (then check docker logs ${container}); or run: immich-backup-agent recover`,
        cause: error,
      },
    );
    logger.fatal({ step: 'restart', code: loud.code }, loud.longMessage);
    throw loud;
  }
}

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
}): Promise<() => Promise<void>> {
  const { docker, container, undo, log, clock, downtime } = options;
  const marker = stateNotes(options.stateDir).serverStopped;
  await marker.write({
    container,
    runId: options.runId,
    pid: process.pid,
    stoppedAt: clock().toISOString(),
  });
  const restartNow = undo.push(`start ${container} again`, async () => {
    await startServer(docker, marker, container, log);
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
  return restartNow;
}
