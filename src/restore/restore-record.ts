import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DumpFormat } from '../adapters/database-dump.js';
import { writeFileAtomic } from '../files/atomic-files.js';
import { createSequenceCounter } from '../history/sequence.js';
import { runRecordFileName } from '../history/store.js';
import { stateFolder } from '../layout/state-folder.js';
import type { ServerDowntime } from '../session/server.js';

/** A restore's record: restores have their own history beside the runs' (stateDir/restores/). */
export interface RestoreRecord {
  id: string;
  kind: 'restore';
  dump: string | null;
  format: DumpFormat | null;
  database: boolean;
  files: { transferredFiles: number; transferredBytes: number } | null;
  server: ServerDowntime | null;
  /** As a run's: the first error decides; a failure to put something back only warns. */
  outcome: 'success' | 'warning' | 'failed';
  reason: string | null;
  message: string;
  startedAt: string;
  finishedAt: string;
}

export async function writeRestoreRecord(stateDir: string, record: RestoreRecord): Promise<void> {
  const state = stateFolder(stateDir);
  const folder = state.restoresDir;
  // Root's alone, as every file of the state folder (0700/0600 whatever the umask).
  await mkdir(folder, { recursive: true, mode: 0o700 });
  // Numbered from the runs' counter, never named by the clock: a restore recorded while the
  // clock was ahead must not hide the restores after it ("Last restore" in status).
  const sequence = await createSequenceCounter(state.sequenceDir).forRun(
    record.id,
    highestNumbered(await restoreNames(folder)),
  );
  await writeFileAtomic(
    path.join(folder, runRecordFileName(sequence, record.id)),
    JSON.stringify(record, null, 2) + '\n',
    0o600,
  );
}

/** The newest restore, or null when there never was one (a damaged record is passed over). */
export async function latestRestore(stateDir: string): Promise<RestoreRecord | null> {
  const folder = stateFolder(stateDir).restoresDir;
  // Records from before numbers (named by their finish time, digits first) list before the
  // numbered `seq-…` ones; the numbered ones list in order (zero-padded).
  const names = await restoreNames(folder);
  for (const name of names.reverse()) {
    try {
      return JSON.parse(await readFile(path.join(folder, name), 'utf8')) as RestoreRecord;
    } catch {
      // passed over
    }
  }
  return null;
}

async function restoreNames(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.json'))
    .sort();
}

function highestNumbered(names: string[]): number {
  const numbers = names.map((name) => /^seq-(\d+)-/.exec(name)?.[1]).filter(Boolean);
  return numbers.length === 0 ? 0 : Math.max(...numbers.map(Number));
}
