import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory } from '../files/atomic-files.js';

/**
 * The order of the run history: a counter in the state folder (root's own, trusted like the
 * config), never the clock. A clock that jumped ahead and back must neither hide the runs after
 * it nor let its own record hide them, so records are ordered by the number they were given.
 *
 * The counter is a folder of claims, `<n>` each holding the id of the run that got n. A number
 * is claimed by hard-linking a complete file into place, which fails when the name exists: two
 * processes that count at once (a run, and a second one refused ALREADY_RUNNING without the
 * lock) can never get the same number, and a claim appears whole or not at all. Only the highest
 * claim is kept. Records carry their number too, so a lost counter starts above the highest one.
 */
export interface SequenceCounter {
  /**
   * The number of this run's record: the one it was given already (its drive copy and its
   * state copy carry the same), else the next one.
   */
  forRun(runId: string, highestRecorded: number): Promise<number>;
}

export function createSequenceCounter(folder: string): SequenceCounter {
  const claims = async (): Promise<number[]> => {
    try {
      return (await readdir(folder))
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
        .sort((a, b) => a - b);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };
  const holder = (sequence: number): Promise<string | null> =>
    readFile(path.join(folder, String(sequence)), 'utf8').then(
      (text) => text.trim(),
      () => null,
    );

  return {
    async forRun(runId, highestRecorded) {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      const aside = path.join(folder, `.claim-${process.pid}-${randomBytes(4).toString('hex')}`);
      await writeFile(aside, `${runId}\n`, { mode: 0o600 });
      try {
        for (let attempt = 0; attempt < 100; attempt += 1) {
          const highest = (await claims()).at(-1) ?? 0;
          if (highest > 0 && (await holder(highest)) === runId) return highest;
          const next = Math.max(highest, highestRecorded) + 1;
          try {
            await link(aside, path.join(folder, String(next)));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // taken: count on
            throw error;
          }
          await fsyncDirectory(folder);
          for (const old of (await claims()).filter((claim) => claim < next))
            await rm(path.join(folder, String(old)), { force: true });
          return next;
        }
        throw new Error(`Could not claim a record number in ${folder}: always taken.`);
      } finally {
        await rm(aside, { force: true });
      }
    },
  };
}
