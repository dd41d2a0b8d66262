import type { Logger } from '../log/logger.js';
import { isInFuture } from '../policy/due.js';

/**
 * The last window the daemon handled, or 0 when it lies in the future (beyond the skew): it was handled while the
 * clock had jumped ahead, and kept, no window would fire until the clock reached it again (a
 * year of no scheduled backups for a clock a year ahead once). Forgotten, the latest window
 * fires once more and the run's own policy decides (NOT_DUE after a recent backup).
 */
export function forgetFutureWindow(lastHandled: number, now: Date, log: Logger): number {
  if (!isInFuture(new Date(lastHandled), now)) return lastHandled;
  log.warn(
    { lastHandledWindow: new Date(lastHandled).toISOString(), now: now.toISOString() },
    `The last window handled, ${new Date(lastHandled).toISOString()}, lies in the future (the clock was ahead then, or is behind now): the schedule goes on from now.`,
  );
  return 0;
}
