import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { openChildFolder } from '../restore/no-follow.js';

/** kit-images.ts's file handling on the drive: its images folder, its streamed writes. */

/**
 * `images/`, made if it is not there, and root's (0755) whoever made it: on a drive with owners
 * (ext4 prepared elsewhere), whoever owns the folder could swap the files in it. A drive without
 * owners (FAT) shows the mount's owner and refuses the change: there is nothing to give back.
 */
export async function openImagesFolder(kit: FileHandle): Promise<FileHandle> {
  const folder = await openChildFolder(kit, 'images', 'images', { owner: null });
  try {
    const info = await folder.stat();
    if (info.uid !== 0 || info.gid !== 0 || (info.mode & 0o022) !== 0) {
      await folder.chown(0, 0);
      await folder.chmod(0o755);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL', 'ENOSYS'].includes(code)) {
      await folder.close();
      throw error;
    }
  }
  return folder;
}

/**
 * Writes into a file handle the caller keeps (to flush and close it). Not the handle's own
 * createWriteStream({ autoClose: false }): after that, close() never settles on Node 20.
 */
export function fileWriter(handle: FileHandle, hash: Hash): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      writeAll(handle, chunk).then(() => callback(), callback);
    },
  });
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    offset += (await handle.write(chunk, offset)).bytesWritten;
  }
}

export function absentAsNull(error: unknown): null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw error;
}
