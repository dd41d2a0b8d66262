import type { ContainerState, DockerAdapter } from '../adapters/docker.js';
import type { Logger } from '../log/logger.js';
import { loudly, notBack, serverStableMs, waitUntilStable } from './server-start.js';
import type { Note, StoppedServer } from './state-notes.js';

/** Which start of the server's process a run saw running, and when. */
export interface SeenRunning {
  startedAt: string;
  restartCount: number;
  /** Date.now() when it was seen running. */
  seenAt: number;
}

/**
 * Starts the server and returns as soon as Docker reports it running (not restarting), noting
 * which start of its process that is (StartedAt, RestartCount). Whether it stays up is checked
 * by serverStayedUp at the end of the run, so the run's tail (verify, restore kit, record,
 * unmount) overlaps the watch instead of a fixed wait. SERVER_START_FAILED, loudly, if it does
 * not come up within `waitMs`, or has exited (no restart policy to bring it back).
 */
export async function startServerSeenRunning(
  docker: DockerAdapter,
  container: string,
  logger: Logger,
  waitMs = 30_000,
): Promise<SeenRunning> {
  let seen: SeenRunning | undefined;
  await loudly(container, logger, async () => {
    await docker.start(container);
    const startedAt = Date.now();
    for (;;) {
      const state = await docker.inspect(container);
      if (state?.running && !state.restarting) {
        seen = { startedAt: state.startedAt, restartCount: state.restartCount, seenAt: Date.now() };
        return;
      }
      const waited = Date.now() - startedAt;
      if ((state?.status === 'exited' && waited > 1000) || waited > waitMs) {
        throw notBack(container, state?.status);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  return seen as SeenRunning;
}

/**
 * The end of the watch: the server must have been up at least `stableMs` since it was seen
 * running (normally long past: only the rest is waited), must still run, and must be the same
 * start of its process (same StartedAt and RestartCount). One its restart policy started again
 * (it crashed) is SERVER_START_FAILED, loudly, and the stopped-server note stays for `recover`.
 * One started again otherwise (someone's `docker restart`) is watched as a start is
 * (waitUntilStable): it must stay up, and is a warning. Clears the note once the server is
 * confirmed up.
 */
export async function serverStayedUp(
  docker: DockerAdapter,
  marker: Note<StoppedServer>,
  container: string,
  seen: SeenRunning,
  logger: Logger,
  options: { stableMs?: number; waitMs?: number } = {},
): Promise<void> {
  const stableMs = options.stableMs ?? serverStableMs;
  await loudly(container, logger, async () => {
    const rest = seen.seenAt + stableMs - Date.now();
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    const state = await docker.inspect(container);
    // Its restart policy started it again: it crashed since the run started it. A crash loop
    // (a failed migration, say) may well run a few seconds each time: never "up".
    if (state !== null && state.restartCount > seen.restartCount) {
      throw notBack(
        container,
        `${describe(state, seen)} since the run started it (it crashed; see docker logs ${container})`,
      );
    }
    if (!sameStart(state, seen)) {
      await waitUntilStable(docker, container, options.waitMs, stableMs);
      const now = await docker.inspect(container);
      if (!now) throw notBack(container, undefined);
      logger.warn(
        { step: 'restart', restarts: now.restartCount - seen.restartCount },
        `${container} went down after it was started again (${describe(state, seen)}); it runs again now. Check docker logs ${container}.`,
      );
    }
    await marker.clear();
  });
}

function sameStart(state: ContainerState | null, seen: SeenRunning): boolean {
  return (
    state !== null &&
    state.running &&
    !state.restarting &&
    state.startedAt === seen.startedAt &&
    state.restartCount === seen.restartCount
  );
}

function describe(state: ContainerState | null, seen: SeenRunning): string {
  if (state === null) return 'its container was gone';
  if (state.restartCount !== seen.restartCount)
    return `restarted ${state.restartCount - seen.restartCount} times by its restart policy`;
  if (state.startedAt !== seen.startedAt) return `started again at ${state.startedAt}`;
  return `Docker reported it ${state.status}`;
}
