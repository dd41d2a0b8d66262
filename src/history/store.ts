import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import { runsFolder } from '../layout/state-folder.js';
import { withSequence, type RunRecord } from './record.js';
import { createSequenceCounter } from './sequence.js';

/** How many records are kept in the state folder; older ones are removed. */
const keepRecords = 1000;

/**
 * Run records, one JSON file each, `runs/seq-<sequence>-<id>.json`, in the state folder and the
 * same under the backup folder on the drive so the drive carries its own history. Each is
 * written atomically. They are ordered by their sequence (sequence.ts), never by a time: "latest"
 * is the run recorded last, whatever the clock said then or says now.
 *
 * Records of versions before the sequence are named `<finishedAt>-<id>.json` and carry none.
 * They still read, and come before every numbered record (they were all written before the
 * first one was), among themselves by their finish time as they always were.
 */
export interface HistoryStore {
  /** Writes the record, giving it this run's sequence when it has none; returns what it wrote. */
  write(record: RunRecord): Promise<RunRecord>;
  /** The sequence of this run's record (the same for its drive copy and its state copy). */
  sequenceFor(runId: string): Promise<number>;
  /** The newest record of any outcome (of this drive, when given). */
  latest(driveUuid?: string): Promise<RunRecord | null>;
  /** The newest record of a run that found and used this drive (its device is on record). */
  latestUsing(driveUuid: string): Promise<RunRecord | null>;
  /** Is there a record of this run? */
  has(runId: string): Promise<boolean>;
  /**
   * The most recently recorded successful run (success or warning), to this drive if given,
   * and of those the newest that `where` accepts.
   */
  latestSuccess(
    driveUuid?: string,
    where?: (record: RunRecord) => boolean,
  ): Promise<RunRecord | null>;
  /** Every successful run (to this drive if given), oldest first. */
  successes(driveUuid?: string): Promise<RunRecord[]>;
}

/**
 * A history in `folder`. With `sequenceDir` (the state folder's counter) it numbers the records
 * it writes; without (the drive's copy) it writes only records that carry their number already.
 */
export function createHistoryStore(folder: string, sequenceDir?: string): HistoryStore {
  const runs = path.join(folder, runsFolder);
  const counter = sequenceDir === undefined ? null : createSequenceCounter(sequenceDir);

  const names = async (): Promise<string[]> => {
    try {
      return (await readdir(runs)).filter((name) => orderOf(name) !== null).sort(byOrder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };

  const read = async (name: string): Promise<RunRecord | null> => {
    try {
      return JSON.parse(await readFile(path.join(runs, name), 'utf8')) as RunRecord;
    } catch {
      return null; // a damaged record must not hide the others
    }
  };

  const findNewest = async (accept: (record: RunRecord) => boolean): Promise<RunRecord | null> => {
    const all = await names();
    for (let index = all.length - 1; index >= 0; index -= 1) {
      const record = await read(all[index] as string);
      if (record && accept(record)) return record;
    }
    return null;
  };

  const sequenceFor = async (runId: string): Promise<number> => {
    if (counter === null)
      throw new Error(`The history in ${folder} does not number records; it was given none.`);
    // Numbered names list last, so the last name holds the highest number (if any has one).
    const last = orderOf((await names()).at(-1) ?? '');
    return counter.forRun(runId, last !== null && 'sequence' in last ? last.sequence : 0);
  };

  return {
    async write(given) {
      const sequence = given.sequence ?? (await sequenceFor(given.id));
      const record = withSequence(given, sequence);
      // Root's alone, whatever the umask (0700/0600): records name the library's files.
      await mkdir(runs, { recursive: true, mode: 0o700 });
      await writeFileAtomic(
        path.join(runs, runRecordFileName(sequence, record.id)),
        JSON.stringify(record, null, 2) + '\n',
        0o600,
      );
      const all = await names();
      for (const old of all.slice(0, Math.max(0, all.length - keepRecords))) {
        await rm(path.join(runs, old), { force: true });
      }
      return record;
    },
    sequenceFor,
    latest: (driveUuid) =>
      findNewest(
        (record) =>
          driveUuid === undefined || record.drive?.uuid.toLowerCase() === driveUuid.toLowerCase(),
      ),
    latestUsing: (driveUuid) =>
      findNewest(
        (record) =>
          record.drive !== null &&
          record.drive.device !== null &&
          record.drive.uuid.toLowerCase() === driveUuid.toLowerCase(),
      ),
    has: async (runId) => (await names()).some((name) => name.endsWith(`-${runId}.json`)),
    async successes(driveUuid) {
      const all: RunRecord[] = [];
      for (const name of await names()) {
        const record = await read(name);
        if (record && isSuccessOf(record, driveUuid)) all.push(record);
      }
      return all;
    },
    latestSuccess: (driveUuid, where = () => true) =>
      findNewest((record) => isSuccessOf(record, driveUuid) && where(record)),
  };
}

/** A record's file name: its sequence, zero-padded so that names list in order, then its id. */
export function runRecordFileName(sequence: number, id: string): string {
  return `seq-${String(sequence).padStart(12, '0')}-${id}.json`;
}

/** Where a file name puts its record: numbered, or (a record before numbers) by its finish time. */
function orderOf(name: string): { sequence: number } | { finished: string } | null {
  const numbered = /^seq-(\d+)-.+\.json$/.exec(name);
  if (numbered) return { sequence: Number(numbered[1]) };
  return /^\d.*\.json$/.test(name) ? { finished: name } : null;
}

function byOrder(a: string, b: string): number {
  const [first, second] = [orderOf(a), orderOf(b)];
  if (first === null || second === null) return 0;
  if ('sequence' in first && 'sequence' in second)
    return first.sequence - second.sequence || (a < b ? -1 : a > b ? 1 : 0);
  if ('sequence' in first) return 1;
  if ('sequence' in second) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isSuccessOf(record: RunRecord, driveUuid?: string): boolean {
  return (
    (record.outcome === 'success' || record.outcome === 'warning') &&
    (driveUuid === undefined || record.drive?.uuid.toLowerCase() === driveUuid.toLowerCase())
  );
}
