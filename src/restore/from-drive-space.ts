import { readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { folderSize } from '../files/folder-size.js';
import { formatBytes, plural } from '../format.js';

/** What the new machine's filesystems hold for the restore, as the plan shows it. */
export interface RestoreSpace {
  /** Regular files under the drive's files/ and the bytes they take in the library's blocks. */
  files: number;
  filesBytes: number;
  /** Free bytes where the library goes (as for users: root's reserve is not counted on). */
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
 * their sizes in the library's blocks and an inode each (less what the library already holds);
 * the database's need is only known roughly (its dump's SQL is the figure shown), so it is said,
 * not refused.
 */
export async function checkRestoreSpace(input: {
  filesDir: string;
  library: string;
  dbDataDir: string;
  sqlBytes: number;
}): Promise<RestoreSpace> {
  const libraryAt = await nearestExisting(input.library);
  const databaseAt = await nearestExisting(input.dbDataDir);
  const [libraryInfo, databaseInfo] = await Promise.all([statfs(libraryAt), statfs(databaseAt)]);
  const [libraryDevice, databaseDevice] = await Promise.all([stat(libraryAt), stat(databaseAt)]);
  // What each file takes where it goes: its size rounded up to that filesystem's blocks.
  const files = await folderSize(input.filesDir, { strict: true, blockBytes: libraryInfo.bsize });
  // A fresh filesystem's lost+found is not a library.
  const libraryHoldsFiles =
    libraryAt === input.library &&
    (await readdir(input.library).catch(() => [] as string[])).some(
      (name) => name !== 'lost+found',
    );
  // What the library already holds is not written again (at most: a changed file needs both).
  const already = libraryHoldsFiles
    ? (await folderSize(input.library, { blockBytes: libraryInfo.bsize })).bytes
    : 0;
  const space: RestoreSpace = {
    files: files.files,
    filesBytes: files.bytes,
    libraryFree: libraryInfo.bavail * libraryInfo.bsize,
    libraryHoldsFiles,
    sqlBytes: input.sqlBytes,
    databaseFree: databaseInfo.bavail * databaseInfo.bsize,
    sameFilesystem: libraryDevice.dev === databaseDevice.dev,
  };
  const needed = Math.max(0, space.filesBytes - already) + reserveBytes;
  // Every file and folder takes an inode (a filesystem without a fixed count says 0 of 0).
  const inodesShort = libraryInfo.files > 0 && libraryInfo.ffree < files.files + files.folders;
  if (space.libraryFree < needed || inodesShort) {
    throw new AgentError(
      'NO_SPACE',
      inodesShort
        ? `The library's filesystem (${libraryAt}) has ${libraryInfo.ffree} inodes free, and the backup's files and folders need ${files.files + files.folders}: they do not fit.`
        : `The library's filesystem (${libraryAt}) has ${formatBytes(space.libraryFree)} free, and the backup's files take ${formatBytes(space.filesBytes)} there (${plural(space.files, 'file')}${already > 0 ? `, ${formatBytes(already)} of it already in the library` : ''}): they do not fit.`,
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
