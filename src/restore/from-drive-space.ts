import { readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { folderSize } from '../files/folder-size.js';
import { formatBytes, plural } from '../format.js';

/** What the new machine's filesystems hold for the restore, as the plan shows it. */
export interface RestoreSpace {
  /** Regular files under the drive's files/ and their bytes (what the copy writes at most). */
  files: number;
  filesBytes: number;
  /** Free bytes (for root) where the library goes. */
  libraryFree: number;
  /** The library folder exists and holds something: the copy writes only what differs. */
  libraryHoldsFiles: boolean;
  /** The dump's SQL, and the free bytes where the database's data folder goes. */
  sqlBytes: number;
  databaseFree: number;
  /** The library and the database folder are on one filesystem. */
  sameFilesystem: boolean;
}

/** Kept free beside the files: the filesystem's own metadata and rsync's temporary files. */
const reserveBytes = 64 * 1024 * 1024;

/**
 * Whether the backup's files fit where the new library goes, read before anything is written: a
 * copy that fills the disk halfway would leave a half library and a full disk. The files need
 * at most their size (less when the library already holds some); the database's need is only
 * known roughly (its dump's SQL is the figure shown), so it is said, not refused.
 */
export async function checkRestoreSpace(input: {
  filesDir: string;
  library: string;
  dbDataDir: string;
  sqlBytes: number;
}): Promise<RestoreSpace> {
  const files = await folderSize(input.filesDir, { strict: true });
  const libraryAt = await nearestExisting(input.library);
  const databaseAt = await nearestExisting(input.dbDataDir);
  const [libraryInfo, databaseInfo] = await Promise.all([statfs(libraryAt), statfs(databaseAt)]);
  const [libraryDevice, databaseDevice] = await Promise.all([stat(libraryAt), stat(databaseAt)]);
  const libraryHoldsFiles =
    libraryAt === input.library &&
    (await readdir(input.library).catch(() => [] as string[])).length > 0;
  const space: RestoreSpace = {
    files: files.files,
    filesBytes: files.bytes,
    libraryFree: libraryInfo.bavail * libraryInfo.bsize,
    libraryHoldsFiles,
    sqlBytes: input.sqlBytes,
    databaseFree: databaseInfo.bavail * databaseInfo.bsize,
    sameFilesystem: libraryDevice.dev === databaseDevice.dev,
  };
  if (!libraryHoldsFiles && space.libraryFree < space.filesBytes + reserveBytes) {
    throw new AgentError(
      'NO_SPACE',
      `The library's filesystem (${libraryAt}) has ${formatBytes(space.libraryFree)} free, and the backup's files are ${formatBytes(space.filesBytes)} (${plural(space.files, 'file')}): they do not fit.`,
      {
        step: 'restore',
        hint: 'Give --library a folder on a disk with more free space, or free space there; nothing was changed.',
      },
    );
  }
  return space;
}

/** The deepest existing folder of `target` (itself when it exists): where statfs can look. */
async function nearestExisting(target: string): Promise<string> {
  for (let current = path.resolve(target); ; current = path.dirname(current)) {
    if ((await stat(current).catch(() => null))?.isDirectory()) return current;
    if (current === path.dirname(current)) return current;
  }
}

/** The plan's lines about space. */
export function spaceLines(space: RestoreSpace): string[] {
  const lines = [
    `Space: the backup's files are ${formatBytes(space.filesBytes)} (${plural(space.files, 'file')}); the library's filesystem has ${formatBytes(space.libraryFree)} free${space.libraryHoldsFiles ? ' (the library already holds files: only what differs is copied)' : ''}`,
    `  the dump holds ${formatBytes(space.sqlBytes)} of SQL; the database folder's filesystem has ${formatBytes(space.databaseFree)} free${space.sameFilesystem ? ' (the same filesystem as the library)' : ''}`,
  ];
  const left = space.sameFilesystem
    ? space.databaseFree - (space.libraryHoldsFiles ? 0 : space.filesBytes)
    : space.databaseFree;
  if (left < space.sqlBytes) {
    lines.push(
      `  WARNING: the database may not fit: ${formatBytes(Math.max(0, left))} stay free for it, less than its SQL; a full disk stops the restore with nothing of the dump kept.`,
    );
  }
  return lines;
}
