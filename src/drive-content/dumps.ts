import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { dumpDate } from '../layout/drive.js';
import { readSidecar, type DumpSidecar } from './sidecar.js';

/** A dump on the drive, with its sidecar when it has one (the old scripts made none). */
export interface DumpEntry {
  name: string;
  /** YYYY-MM-DD from the name. */
  date: string;
  bytes: number;
  modifiedAt: string;
  sidecar: DumpSidecar | null;
}

/** The dumps in the backup folder, oldest first. */
export async function listDumps(backupDir: string): Promise<DumpEntry[]> {
  const entries: DumpEntry[] = [];
  for (const name of (await readdir(backupDir)).sort()) {
    const date = dumpDate(name);
    if (date === null) continue;
    const info = await stat(path.join(backupDir, name));
    entries.push({
      name,
      date,
      bytes: info.size,
      modifiedAt: info.mtime.toISOString(),
      sidecar: await readSidecar(backupDir, name),
    });
  }
  return entries;
}

/** The newest dump, or the one of `date`; VERIFY_FAILED-style error naming what exists. */
export function pickDump(dumps: readonly DumpEntry[], date?: string): DumpEntry {
  const chosen = date ? dumps.find((dump) => dump.date === date) : dumps.at(-1);
  if (!chosen) {
    throw new AgentError(
      'NO_BACKUP',
      date
        ? `There is no dump of ${date} on the drive (there are: ${dumps.map((dump) => dump.date).join(', ') || 'none'}).`
        : 'There is no database dump on the drive.',
      { step: 'backups', hint: 'Run `immich-backup-agent backups` to see what the drive holds.' },
    );
  }
  return chosen;
}
