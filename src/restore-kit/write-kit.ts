import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';

/** One file of the kit as it should be. */
export interface KitFile {
  name: string;
  content: Buffer;
  mode: number;
}

export interface KitWrite {
  /** The files rewritten (their content had changed, or they were not there). */
  written: string[];
  bytesWritten: number;
}

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Brings the kit's files in `kitDir` (a folder proven on the drive) to `files`, in their order,
 * rewriting only those whose content differs: a run that changed nothing writes nothing. The file
 * on the drive is read without following a link and only when it is a regular file; anything
 * else in a kit file's place (a symlink, a FIFO) counts as different and is replaced by the real
 * file (renamed over, never written through). Each file is written whole under a temporary name
 * and renamed: a failure leaves the earlier file or none, never half of one. A file whose content
 * is right but whose mode is not (an agent that is not executable) gets its mode back.
 */
export async function writeKitFiles(kitDir: string, files: readonly KitFile[]): Promise<KitWrite> {
  const result: KitWrite = { written: [], bytesWritten: 0 };
  for (const file of files) {
    const destination = path.join(kitDir, file.name);
    const onDrive = await regularFileDigest(destination, file.content.length);
    if (onDrive?.sha256 === sha256Hex(file.content)) {
      if (onDrive.mode !== file.mode) await setMode(destination, file.mode);
      continue;
    }
    await writeFileAtomic(destination, file.content, file.mode);
    result.written.push(file.name);
    result.bytesWritten += file.content.length;
  }
  return result;
}

/**
 * Through a descriptor opened without following a link. A drive without permissions (FAT) has
 * no mode to set: its driver refuses or ignores it, and nothing is lost.
 */
async function setMode(file: string, mode: number): Promise<void> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    await handle.chmod(mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL', 'ENOSYS'].includes(code)) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * What a killed run left in `folder` (proven on the drive): `.<name>.partial…` files of an
 * atomic write or an image save. Unlinked, never followed; anything else is left alone.
 */
export async function sweepPartials(folder: string): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await readdir(folder)) {
    if (!/^\..+\.partial/.test(name)) continue;
    try {
      await unlink(path.join(folder, name));
      swept.push(name);
    } catch (error) {
      // A folder under such a name is not the agent's leftover: left as it is.
      if (!['ENOENT', 'EISDIR', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? ''))
        throw error;
    }
  }
  return swept;
}

/**
 * Removes kit files from `kitDir` (a folder proven on the drive), in this order: unlink takes
 * away a link itself, never what it points at. The names of those that were there.
 */
export async function removeKitFiles(kitDir: string, names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    try {
      await unlink(path.join(kitDir, name));
      removed.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/**
 * The sha256 (hex) of a regular file, streamed, and its mode, when it has `expectedBytes`; null
 * when it is absent, not a regular file, a symlink, or of another size (then it differs anyway).
 */
export async function regularFileDigest(
  file: string,
  expectedBytes: number,
): Promise<{ sha256: string; mode: number } | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size !== expectedBytes) return null;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
    }
    return { sha256: hash.digest('hex'), mode: info.mode & 0o777 };
  } finally {
    await handle.close();
  }
}
