import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/atomic-files.js';
import type { RestoreRecord } from './restore.js';

/** Restores have their own history beside the runs': stateDir/restores/<finish>-<id>.json. */
function folder(stateDir: string): string {
  return path.join(stateDir, 'restores');
}

export async function writeRestoreRecord(stateDir: string, record: RestoreRecord): Promise<void> {
  await mkdir(folder(stateDir), { recursive: true });
  await writeFileAtomic(
    path.join(folder(stateDir), `${record.finishedAt.replace(/[:.]/g, '-')}-${record.id}.json`),
    JSON.stringify(record, null, 2) + '\n',
  );
}

/** The newest restore, or null when there never was one (a damaged record is passed over). */
export async function latestRestore(stateDir: string): Promise<RestoreRecord | null> {
  const names = (await readdir(folder(stateDir)).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.json'))
    .sort();
  for (const name of names.reverse()) {
    try {
      return JSON.parse(await readFile(path.join(folder(stateDir), name), 'utf8')) as RestoreRecord;
    } catch {
      // passed over
    }
  }
  return null;
}
