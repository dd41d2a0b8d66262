import type { StepContext } from '../context.js';
import { stopServerWithRestart } from '../server-control.js';
import type { ServerMarker } from '../server-marker.js';

/**
 * Stops the Immich server so the database and the files do not change during the backup
 * (Immich's own advice). The restart is registered before the stop is even asked for, so it
 * runs on every path, including a stop that fails half-way. A server that was not running is
 * left as it was found.
 */
export async function stopServer(
  context: StepContext,
  marker: ServerMarker,
  serverWasRunning: boolean,
): Promise<void> {
  const { config, docker, log, undo, state, clock } = context;
  const container = config.immich.serverContainer;
  if (!serverWasRunning) {
    log.warn(
      { step: 'stop' },
      `${container} was not running before the backup; it will be left stopped.`,
    );
    state.server = { container, stoppedAt: null, startedAt: null, downtimeMs: 0 };
    return;
  }
  if (context.dryRun) {
    log.info(
      { step: 'stop' },
      `Would stop ${container} (up to ${config.immich.stopTimeoutSeconds} s), and start it again at the end.`,
    );
    return;
  }
  state.server = { container, stoppedAt: null, startedAt: null, downtimeMs: 0 };
  await stopServerWithRestart({
    docker,
    marker,
    container,
    timeoutSeconds: config.immich.stopTimeoutSeconds,
    undo,
    log,
    runId: context.runId,
    clock,
    why: 'so nothing changes during the backup',
    downtime: state.server,
  });
}
