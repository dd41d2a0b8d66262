import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { listDumps } from './dumps.js';
import { sidecarFileName } from '../layout/drive.js';

/**
 * retention.keepDumps: keeps the newest N verified dumps (with their sidecars) and removes older
 * verified ones, in listDumps' order (their sequence, never the date in their names: a clock).
 * Never the only verified dump, never the dump this run just wrote (`justWritten`), never a dump
 * that is not known to be verified (the old scripts' dumps have no sidecar: they stay), never
 * anything in files/. Called only after the new dump has been verified.
 */
export async function applyRetention(
  backupDir: string,
  keepDumps: number | null,
  log: Logger,
  justWritten: string,
): Promise<string[]> {
  if (keepDumps === null) return [];
  const verified = (await listDumps(backupDir)).filter((dump) => dump.sidecar?.verified === true);
  const keep = Math.max(1, keepDumps);
  const removed: string[] = [];
  const older = verified.slice(0, Math.max(0, verified.length - keep));
  for (const dump of older.filter((entry) => entry.name !== justWritten)) {
    await rm(path.join(backupDir, dump.name), { force: true });
    await rm(path.join(backupDir, sidecarFileName(dump.name)), { force: true });
    removed.push(dump.name);
  }
  if (removed.length > 0) {
    log.info(
      { step: 'retention', removed },
      `Removed ${removed.length} old dump(s) beyond the newest ${keep} verified: ${removed.join(', ')}.`,
    );
  }
  return removed;
}
