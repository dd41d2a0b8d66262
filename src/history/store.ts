import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import { recordFileName, runsFolder } from '../layout/state-folder.js';
import type { RunRecord } from './record.js';

/** How many records are kept in the state folder; older ones are removed. */
const keepRecords = 1000;

/**
 * Run records, one JSON file each, named so that sorting by name sorts by finish time:
 * `runs/<finishedAt>-<id>.json` in the state folder, and the same under the backup folder on the
 * drive so the drive carries its own history. Each is written atomically.
 */
export interface HistoryStore {
  write(record: RunRecord): Promise<void>;
  /** The newest record of any outcome (of this drive, when given). */
  latest(driveUuid?: string): Promise<RunRecord | null>;
  /** The newest record of a run that found and used this drive (its device is on record). */
  latestUsing(driveUuid: string): Promise<RunRecord | null>;
  /** Is there a record of this run? */
  has(runId: string): Promise<boolean>;
  /**
   * The most recently finished successful run (success or warning), to this drive if given, and
   * of those the newest that `where` accepts.
   */
  latestSuccess(
    driveUuid?: string,
    where?: (record: RunRecord) => boolean,
  ): Promise<RunRecord | null>;
  /** Every successful run (to this drive if given), oldest first. */
  successes(driveUuid?: string): Promise<RunRecord[]>;
}

export function createHistoryStore(folder: string): HistoryStore {
  const runs = path.join(folder, runsFolder);

  const names = async (): Promise<string[]> => {
    try {
      return (await readdir(runs)).filter((name) => /^\d.*\.json$/.test(name)).sort();
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

  return {
    async write(record) {
      // Root's alone, whatever the umask (0700/0600): records name the library's files.
      await mkdir(runs, { recursive: true, mode: 0o700 });
      await writeFileAtomic(
        path.join(runs, recordFileName(record)),
        JSON.stringify(record, null, 2) + '\n',
        0o600,
      );
      const all = await names();
      for (const old of all.slice(0, Math.max(0, all.length - keepRecords))) {
        await rm(path.join(runs, old), { force: true });
      }
    },
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

function isSuccessOf(record: RunRecord, driveUuid?: string): boolean {
  return (
    (record.outcome === 'success' || record.outcome === 'warning') &&
    (driveUuid === undefined || record.drive?.uuid.toLowerCase() === driveUuid.toLowerCase())
  );
}
