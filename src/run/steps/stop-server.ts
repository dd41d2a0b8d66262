import { formatDuration } from '../../format.js';
import type { StepContext } from '../context.js';
import { startServer } from '../server-control.js';
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
  const server: NonNullable<typeof state.server> = {
    container,
    stoppedAt: null,
    startedAt: null,
    downtimeMs: 0,
  };
  state.server = server;
  await marker.write({
    container,
    runId: context.runId,
    pid: process.pid,
    stoppedAt: clock().toISOString(),
  });
  undo.push(`start ${container} again`, async () => {
    await startServer(docker, marker, container, log);
    const startedAt = clock();
    server.startedAt = startedAt.toISOString();
    server.downtimeMs = server.stoppedAt ? startedAt.getTime() - Date.parse(server.stoppedAt) : 0;
    log.info(
      { step: 'restart', downtimeMs: server.downtimeMs },
      `${container} is running again (down for ${formatDuration(server.downtimeMs)}).`,
    );
  });
  log.info({ step: 'stop' }, `Stopping ${container} so nothing changes during the backup.`);
  server.stoppedAt = clock().toISOString();
  await docker.stop(container, config.immich.stopTimeoutSeconds);
  log.info({ step: 'stop' }, `${container} is stopped.`);
}
