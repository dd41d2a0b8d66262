import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import { pathProblems } from '../files/root-owned.js';
import { stateFolder } from '../layout/state-folder.js';

/** Who holds the run lock; also what `status` shows about a run in progress. */
export interface LockOwner {
  pid: number;
  /** The owner's start time in clock ticks since boot, so a reused pid is not mistaken for it. */
  processStart: string | null;
  runId: string;
  trigger: string;
  startedAt: string;
}

export interface HeldLock {
  owner: LockOwner;
  release(): Promise<void>;
}

/**
 * The run lock of this installation (its state folder's): made sure the folder is there first
 * (STATE_UNWRITABLE, with what to do, when it cannot be), then taken. Runs, verify, restore and
 * recovery all go through here, so they never overlap. The folder is made for root alone (0700,
 * whatever the umask) and checked once it is there: one someone else made first, or can write,
 * is refused (CONFIG_INSECURE, exit 2), as the notes in it make root act.
 */
export async function takeRunLock(
  stateDir: string,
  owner: Omit<LockOwner, 'pid' | 'processStart'>,
  options: LockOptions = {},
): Promise<HeldLock> {
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new AgentError(
      'STATE_UNWRITABLE',
      `Cannot create the state folder ${stateDir}: ${(error as Error).message}.`,
      { step: 'lock', hint: 'Run as root, or set stateDir to a writable folder.', cause: error },
    );
  }
  const lockFile = stateFolder(stateDir).lockFile;
  const problems = pathProblems(lockFile);
  if (problems.length > 0) {
    throw new AgentError(
      'CONFIG_INSECURE',
      `Refusing the state folder ${stateDir}: ${problems.join('; ')}. Whoever can write there could make the agent, running as root, act on notes it did not write.`,
      {
        step: 'lock',
        hint: `Use a stateDir only root can write, or fix it with: sudo chown root:root '${stateDir}' && sudo chmod 700 '${stateDir}'`,
      },
    );
  }
  return acquireLock(lockFile, owner, options);
}

export interface LockOptions {
  /** Called when a live holder has the lock: true to wait and try again (lock-yield.ts). */
  waitFor?: (holder: LockOwner) => Promise<boolean>;
}

/**
 * One exclusive lock for every entry point (CLI, hotplug unit, daemon). The lock file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists).
 * A lock whose owner is dead is taken over; the takeover itself is guarded so two runs that find
 * the same stale lock cannot both win.
 */
export async function acquireLock(
  file: string,
  owner: Omit<LockOwner, 'pid' | 'processStart'>,
  options: LockOptions = {},
): Promise<HeldLock> {
  const me: LockOwner = {
    pid: process.pid,
    processStart: await processStart(process.pid),
    ...owner,
  };
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, JSON.stringify(me) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        await link(aside, file);
        return { owner: me, release: () => releaseLock(file, me) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const raw = await readFile(file, 'utf8').catch(() => null);
      if (raw === null) continue; // released meanwhile: try again
      const holder = parseOwner(raw);
      if (holder && (await isAlive(holder))) {
        if (options.waitFor && (await options.waitFor(holder))) {
          attempt -= 1; // waiting, not a failed attempt: waitFor's own deadline ends it
          continue;
        }
        throw new AgentError(
          'ALREADY_RUNNING',
          `Another backup (run ${holder.runId}, ${holder.trigger}, pid ${holder.pid}) has been running since ${holder.startedAt}.`,
          { step: 'lock', hint: 'Nothing was done; this one is not needed.', details: { holder } },
        );
      }
      await removeStaleLock(file, raw);
    }
    throw new AgentError('INTERNAL', `Could not take the lock ${file}.`, { step: 'lock' });
  } finally {
    await rm(aside, { force: true });
  }
}

/** The live owner of the lock, or null when nobody (alive) holds it. */
export async function readLockOwner(file: string): Promise<LockOwner | null> {
  const raw = await readFile(file, 'utf8').catch(() => null);
  const holder = raw === null ? null : parseOwner(raw);
  return holder && (await isAlive(holder)) ? holder : null;
}

async function releaseLock(file: string, me: LockOwner): Promise<void> {
  const raw = await readFile(file, 'utf8').catch(() => null);
  const holder = raw === null ? null : parseOwner(raw);
  if (holder && holder.pid === me.pid && holder.runId === me.runId)
    await unlink(file).catch(() => undefined);
}

async function removeStaleLock(file: string, staleContent: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await mkdir(guard, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Someone else is taking over; a guard older than 10 s was left by a process that died.
    const age =
      Date.now() -
      (await stat(guard)
        .then((info) => info.mtimeMs)
        .catch(() => Date.now()));
    if (age > 10_000) await rmdir(guard).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return;
  }
  try {
    const now = await readFile(file, 'utf8').catch(() => null);
    if (now === staleContent) await unlink(file).catch(() => undefined);
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

function parseOwner(raw: string): LockOwner | null {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>;
    return typeof value.pid === 'number' && typeof value.runId === 'string'
      ? (value as LockOwner)
      : null;
  } catch {
    return null;
  }
}

export async function isAlive(owner: Pick<LockOwner, 'pid' | 'processStart'>): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.processStart === null) return true;
  const started = await processStart(owner.pid);
  // Unreadable while kill(0) answered: /proc hides it (the units' ProtectProc=invisible hides a
  // process with more capabilities, such as a manual run). Alive: never take a live run's lock.
  return started === null || started === owner.processStart;
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export async function processStart(pid: number): Promise<string | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
