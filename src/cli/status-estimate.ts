import type { HistoryStore } from '../history/store.js';
import type { RunRecord } from '../history/record.js';

/**
 * The next backup's size, from the run records alone: status never walks the library (a walk of
 * a million files on a cold disk takes longer than anyone waits for a status line). The library
 * grew between the last two backups to this drive by about as much as it will grow until the
 * next one (a weekly rhythm), and a dump like the last one is written beside the newest.
 */
export interface NextBackupEstimate {
  bytes: number | null;
  /**
   * What the estimate rests on: `growth` the library's growth between the last two backups,
   * `dump-only` a single backup so far (no growth known yet), null no backup.
   */
  basis: 'growth' | 'dump-only' | null;
}

/** What the last backup to this drive found and copied, as its record says. */
export interface LastCopy {
  at: string;
  copiedFiles: number;
  copiedBytes: number;
  libraryFiles: number;
  libraryBytes: number;
}

export function lastCopyOf(last: RunRecord | null): LastCopy | null {
  if (!last?.files) return null;
  return {
    at: last.finishedAt,
    copiedFiles: last.files.transferredFiles,
    copiedBytes: last.files.transferredBytes,
    libraryFiles: last.files.totalFiles,
    libraryBytes: last.files.totalBytes,
  };
}

export async function estimateNextBackup(
  history: Pick<HistoryStore, 'latestSuccess'>,
  driveUuid: string,
  last: RunRecord | null,
): Promise<NextBackupEstimate> {
  if (!last) return { bytes: null, basis: null };
  const dump = last.database?.bytes ?? 0;
  if (!last.files) return { bytes: dump, basis: 'dump-only' };
  const previous = await history.latestSuccess(
    driveUuid,
    (record) =>
      record.id !== last.id && record.files !== null && record.finishedAt < last.finishedAt,
  );
  if (!previous?.files) return { bytes: dump, basis: 'dump-only' };
  const growth = Math.max(0, last.files.totalBytes - previous.files.totalBytes);
  return { bytes: growth + dump, basis: 'growth' };
}
