import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files that must never be seen half-written (run records, config copies, dumps) are written
 * under a temporary name in the same folder, flushed to the disk, and renamed over the final
 * name; the folder is flushed too so the rename survives a power cut.
 */
export function temporaryNameFor(finalPath: string, tag = randomBytes(4).toString('hex')): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.partial-${tag}`);
}

export async function fsyncDirectory(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** chmod on a filesystem without permissions: ENOSYS (fusefat), EPERM (vfat), EOPNOTSUPP. */
function ignoreWithoutPermissions(error: NodeJS.ErrnoException): void {
  if (!['ENOSYS', 'EPERM', 'EOPNOTSUPP', 'ENOTSUP'].includes(error.code ?? '')) throw error;
}

export async function writeFileAtomic(
  finalPath: string,
  data: string | Buffer,
  mode = 0o644,
): Promise<void> {
  const temporary = temporaryNameFor(finalPath);
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(data);
      // The umask must not widen or narrow what was asked for. A filesystem without
      // permissions (vfat, exFAT, NTFS) has no mode to set: its mount decides who may read.
      await handle.chmod(mode).catch(ignoreWithoutPermissions);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, finalPath);
    await fsyncDirectory(path.dirname(finalPath));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
