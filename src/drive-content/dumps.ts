import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { dumpDate } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { readSidecar, type DumpSidecar } from './sidecar.js';
import { compareDumps } from './dump-order.js';

/** A dump on the drive, with its sidecar when it has one (the old scripts made none). */
export interface DumpEntry {
  name: string;
  /** YYYY-MM-DD from the name. */
  date: string;
  bytes: number;
  modifiedAt: string;
  sidecar: DumpSidecar | null;
}

/**
 * The dumps in the backup folder, oldest first: by the sequence in their sidecars, never by
 * the date in their names (a clock that was wrong); dumps without one (the old scripts', earlier
 * versions') come first, by name.
 */
export async function listDumps(backupDir: string, log?: Logger): Promise<DumpEntry[]> {
  const entries: DumpEntry[] = [];
  for (const name of (await readdir(backupDir)).sort()) {
    const date = dumpDate(name);
    if (date === null) continue;
    // Only a regular file is a dump: a FIFO would hang whoever reads it, a symlink lead off the drive.
    const info = await lstat(path.join(backupDir, name));
    if (!info.isFile()) {
      log?.warn({ step: 'backups' }, `Passed over ${name}: it is not a regular file.`);
      continue;
    }
    entries.push({
      name,
      date,
      bytes: info.size,
      modifiedAt: info.mtime.toISOString(),
      sidecar: await readSidecar(backupDir, name, log),
    });
  }
  return entries.sort(compareDumps);
}

/**
 * The newest dump (listDumps' order), or the newest one named with `date`; NO_BACKUP naming what
 * exists.
 */
export function pickDump(dumps: readonly DumpEntry[], date?: string): DumpEntry {
  const chosen = date ? dumps.findLast((dump) => dump.date === date) : dumps.at(-1);
  if (!chosen) {
    throw new AgentError(
      'NO_BACKUP',
      date
        ? `There is no dump of ${date} on the drive (there are: ${[...new Set(dumps.map((dump) => dump.date))].join(', ') || 'none'}).`
        : 'There is no database dump on the drive.',
      { step: 'backups', hint: 'Run `immich-backup-agent backups` to see what the drive holds.' },
    );
  }
  return chosen;
}
