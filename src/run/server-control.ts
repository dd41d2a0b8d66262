import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError, toAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ServerMarker } from './server-marker.js';

/**
 * Starts the Immich server and waits until Docker reports it running (not restarting), so a
 * server that crashes straight away is reported as not started. Clears the stopped-server note
 * only once it runs. Every failure is SERVER_START_FAILED: the worst outcome, said loudly.
 */
export async function startServer(
  docker: DockerAdapter,
  marker: ServerMarker,
  container: string,
  logger: Logger,
  waitMs = 30_000,
): Promise<void> {
  try {
    await docker.start(container);
    const deadline = Date.now() + waitMs;
    let state = await docker.inspect(container);
    while (!(state?.running && !state.restarting) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
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
