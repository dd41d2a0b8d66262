import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { localDate } from '../format.js';
import { dumpFileName } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { isInFuture } from '../policy/due.js';
import { listDumps, type DumpEntry } from './dumps.js';
import { nextDumpSequence } from './dump-order.js';

export interface DumpName {
  /** The file to write in the backup folder. */
  name: string;
  /** Its sidecar's sequence: above every dump on the drive. */
  sequence: number;
  /** The dump of the same day that is kept rather than replaced, when there is one. */
  kept: string | null;
}

/**
 * The name of the dump a run writes now. The seed's rule: the local date of the run, and a
 * second run on one day replaces that day's dump. Never when that dump was written by a later
 * run, which only a clock set back can make look like "today": a later dump on the drive comes
 * after it, or it was created after now (beyond the skew). The new dump then gets a name of its
 * own, `immich-db-YYYY-MM-DDThh-mm-ss[-n].sql.gz`, and that day's snapshot stays.
 */
export async function dumpNameFor(backupDir: string, now: Date, log: Logger): Promise<DumpName> {
  const dumps = await listDumps(backupDir, log).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const sequence = nextDumpSequence(dumps);
  const day = localDate(now);
  const sameDay = dumps.find((dump) => dump.name === dumpFileName(day));
  const laterRun = sameDay ? writtenByLaterRun(sameDay, dumps, now) : null;
  if (!sameDay || laterRun === null) return { name: dumpFileName(day), sequence, kept: null };
  const time = now.toTimeString().slice(0, 8).replace(/:/g, '-');
  let name = dumpFileName(day, time);
  for (let counter = 2; await lexists(path.join(backupDir, name)); counter += 1) {
    name = dumpFileName(day, `${time}-${counter}`);
  }
  log.warn(
    { step: 'dump', kept: sameDay.name, dump: name },
    `Kept ${sameDay.name} rather than replacing it: ${laterRun} (the clock looks set back). This run's dump is ${name}.`,
  );
  return { name, sequence, kept: sameDay.name };
}

/** Why `dump` must be a later run's (null when it is an earlier run's of today: replaceable). */
function writtenByLaterRun(dump: DumpEntry, dumps: readonly DumpEntry[], now: Date): string | null {
  const newest = dumps.at(-1);
  if (newest && newest.name !== dump.name) return `${newest.name} was written after it`;
  const createdAt = dump.sidecar?.createdAt ?? dump.modifiedAt;
  if (isInFuture(new Date(createdAt), now))
    return `it was written at ${createdAt}, later than now (${now.toISOString()})`;
  return null;
}

async function lexists(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => null)) !== null;
}
