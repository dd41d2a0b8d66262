import type { StepContext } from '../context.js';
import { stopServerWithRestart, type ServerRestart } from '../../session/server.js';

/**
 * Stops the Immich server so the database and the files do not change during the backup
 * (Immich's own advice). The restart is registered before the stop is even asked for, so it
 * runs on every path, including a stop that fails half-way; it is returned too, for the run to
 * call at its place in the list (immich.stopServer: during-backup, the seed's way, at the end;
 * during-dump as soon as the dump is safe), with the check that the server stayed up, which the
 * run makes last, so its tail overlaps that watch instead of waiting it out. A server that was
 * not running is left as it was found, and `never` does not stop it: null then, nothing to
 * restart.
 */
export async function stopServer(
  context: StepContext,
  serverWasRunning: boolean,
): Promise<ServerRestart | null> {
  const { config, docker, log, undo, state, clock } = context;
  const container = config.immich.serverContainer;
  const mode = config.immich.stopServer;
  if (!serverWasRunning) {
    log.warn(
      { step: 'stop' },
      `${container} was not running before the backup; it will be left stopped.`,
    );
    state.server = { container, stoppedAt: null, startedAt: null, downtimeMs: 0 };
    return null;
  }
  if (mode === 'never') {
    // pg_dump reads one consistent snapshot; files uploaded during the copy are simply newer
    // than the dump (an orphan file at worst after a restore, never a missing one).
    log.info(
      { step: 'stop' },
      `${container} keeps running (immich.stopServer: never); the dump is a consistent snapshot.`,
    );
    state.server = { container, stoppedAt: null, startedAt: null, downtimeMs: 0 };
    return null;
  }
  if (context.request.dryRun) {
    log.info(
      { step: 'stop' },
      `Would stop ${container} (up to ${config.immich.stopTimeoutSeconds} s) and start it again ${mode === 'during-dump' ? 'once the dump is safe' : 'at the end'}.`,
    );
    return null;
  }
  state.server = { container, stoppedAt: null, startedAt: null, downtimeMs: 0 };
  return stopServerWithRestart({
    docker,
    stateDir: config.stateDir,
    container,
    timeoutSeconds: config.immich.stopTimeoutSeconds,
    undo,
    log,
    runId: context.runId,
    clock,
    why:
      mode === 'during-dump'
        ? 'until the database dump is safe on the drive'
        : 'so nothing changes during the backup',
    downtime: state.server,
    stayUpCheck: 'at-the-end',
  });
}
