import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError, toAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Note, StoppedServer } from './state-notes.js';

/** How long a restarted server must keep running to count as started. */
export const serverStableMs = 500;

/**
 * Starts the Immich server and waits until Docker reports it running (not restarting) for
 * `stableMs`, so a server that crashes straight away is reported as not started. Clears the
 * stopped-server note only once it runs. Every failure is SERVER_START_FAILED, said loudly.
 * (A backup run watches instead while its tail goes on: server-stayed-up.ts.)
 */
export async function startServer(
  docker: DockerAdapter,
  marker: Note<StoppedServer>,
  container: string,
  logger: Logger,
  waitMs = 30_000,
  stableMs = serverStableMs,
): Promise<void> {
  await loudly(container, logger, async () => {
    await docker.start(container);
    await waitUntilStable(docker, container, waitMs, stableMs);
    await marker.clear();
  });
}

/**
 * Waits until Docker reports the container running for `stableMs` on end. Running once is not
 * enough: a server that crashes at start-up is running for a moment (a crash loop under
 * `restart: always` shows as restarting). SERVER_START_FAILED if it does not get there.
 */
export async function waitUntilStable(
  docker: DockerAdapter,
  container: string,
  waitMs = 30_000,
  stableMs = serverStableMs,
): Promise<void> {
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
  if (!state?.running || state.restarting) throw notBack(container, state?.status);
}

export function notBack(container: string, status: string | undefined): AgentError {
  return new AgentError(
    'SERVER_START_FAILED',
    `The Immich server (${container}) did not come back: Docker reports it ${status ?? 'missing'}.`,
    { step: 'restart' },
  );
}

/**
 * Runs a start (or its check), turning every failure into a loud SERVER_START_FAILED: the
 * worst outcome, said so, with what to do.
 */
export async function loudly(
  container: string,
  logger: Logger,
  action: () => Promise<void>,
): Promise<void> {
  try {
    await action();
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
