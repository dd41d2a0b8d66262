import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, processStart, type LockOwner } from './lock.js';

/**
 * Backups come before checks: `verify --full` may read a drive for hours, and a backup that
 * finds it holding the lock asks it to stop (a note in the state folder) and waits for the lock
 * instead of giving up. The verification stops at its next file, says how far it got, and is
 * run again later; nothing it found is lost, its cycle is simply not complete.
 */

/** The lock holders that give way to a backup. */
export const yieldingTriggers: ReadonlySet<string> = new Set(['verify-full']);

/** How long a backup waits for a verification to give way. */
export const yieldWaitMs = 120_000;

const noteFile = (stateDir: string): string => path.join(stateDir, 'lock.wanted');

/**
 * Is a backup waiting for the lock (checked by the holder that gives way)? Only while the run
 * that asked is alive: one that gave up waiting and ended asks for nothing any more.
 */
export async function yieldWanted(stateDir: string): Promise<boolean> {
  const text = await readFile(noteFile(stateDir), 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    const asker = JSON.parse(text) as { pid?: unknown; processStart?: unknown };
    if (typeof asker.pid !== 'number') return false;
    return await isAlive({
      pid: asker.pid,
      processStart: typeof asker.processStart === 'string' ? asker.processStart : null,
    });
  } catch {
    return false;
  }
}

export async function clearYieldRequest(stateDir: string): Promise<void> {
  await rm(noteFile(stateDir), { force: true });
}

/**
 * For takeRunLock's `waitFor`: while a holder that gives way holds the lock, leave the note and
 * wait half a second, until `waitMs` has passed (then the run is ALREADY_RUNNING as before).
 */
export function waitForYield(
  stateDir: string,
  runId: string,
  onAsk: (holder: LockOwner) => void,
  waitMs = yieldWaitMs,
): (holder: LockOwner) => Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let asked = false;
  return async (holder) => {
    if (!yieldingTriggers.has(holder.trigger) || Date.now() >= deadline) return false;
    if (!asked) {
      asked = true;
      onAsk(holder);
      const me = { runId, pid: process.pid, processStart: await processStart(process.pid) };
      await writeFile(noteFile(stateDir), `${JSON.stringify(me)}\n`, { mode: 0o600 });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    return true;
  };
}

/**
 * For the holder that gives way: an abort signal that fires once a live backup asks for the
 * lock (looked at now, then every `everyMs`), and a function that stops looking.
 */
export async function abortWhenWanted(
  stateDir: string,
  everyMs = 250,
): Promise<{ signal: AbortSignal; stop: () => void }> {
  const controller = new AbortController();
  const look = async (): Promise<void> => {
    if (!controller.signal.aborted && (await yieldWanted(stateDir)))
      controller.abort(new Error('a backup needs the drive'));
  };
  await look();
  const timer = setInterval(() => void look(), everyMs);
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}
