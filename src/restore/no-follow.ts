import { constants } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';

/**
 * Paths walked one component at a time without following a symlink, the way openat(2) with
 * O_NOFOLLOW would: each folder is held open, and the next name is looked up in it through
 * /proc/self/fd/N (a link to the very folder held, whatever has been renamed since). Neither
 * the drive nor the library is trusted: a symlink, device or FIFO planted in either must not
 * lead root's reads or writes anywhere else.
 */

/** Why a walk stopped: the name of the entry in the way and what it is. */
export class NotFollowed extends Error {
  constructor(
    readonly entry: string,
    readonly why: string,
  ) {
    super(`${entry} ${why}`);
  }
}

/** The path that reaches `name` inside the folder held open, without re-resolving its path. */
export function inside(folder: FileHandle, name = ''): string {
  return `/proc/self/fd/${folder.fd}${name === '' ? '' : `/${name}`}`;
}

/** A path from another process's point of view (rsync reaches the folder this process holds). */
export function insideForChild(folder: FileHandle): string {
  return `/proc/${process.pid}/fd/${folder.fd}`;
}

const folderFlags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Opens a folder by an absolute path the caller trusts (the proven drive's backup folder). */
export async function openFolder(folder: string): Promise<FileHandle> {
  return open(folder, folderFlags);
}

/**
 * Opens the folder `name` in `parent`, or makes it (mode 0755, owned by `owner`) when `create`.
 * A symlink, or anything but a folder, throws NotFollowed.
 */
export async function openChildFolder(
  parent: FileHandle,
  name: string,
  label: string,
  create?: { owner: { uid: number; gid: number } | null },
): Promise<FileHandle> {
  try {
    return await open(inside(parent, name), folderFlags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && create) {
      // mkdir does not follow a symlink in the last component: one planted meanwhile fails it.
      await mkdir(inside(parent, name), { mode: 0o755 });
      const made = await open(inside(parent, name), folderFlags);
      if (create.owner) await made.chown(create.owner.uid, create.owner.gid);
      return made;
    }
    throw await describedAt(inside(parent, name), label, code, error);
  }
}

/** O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink too: the entry itself tells which. */
async function describedAt(
  entry: string,
  label: string,
  code: string | undefined,
  cause: unknown,
): Promise<Error> {
  if (code !== 'ENOTDIR' && code !== 'ELOOP') return notFollowed(label, code, cause);
  const info = await lstat(entry).catch(() => null);
  if (info?.isSymbolicLink()) return new NotFollowed(label, 'is a symlink');
  return new NotFollowed(
    label,
    info?.isFile() ? 'is not a folder' : 'is not a regular file or folder',
  );
}

/**
 * Walks `relative` (folders only) down from `base`, which stays open; returns the deepest
 * folder, a new handle the caller closes. Every folder on the way is closed once passed.
 */
export async function walkFolders(
  base: FileHandle,
  parts: readonly string[],
  create?: { owner: { uid: number; gid: number } | null },
): Promise<FileHandle> {
  // '.' in the folder held: the same folder, opened anew (the fd link itself is not followed).
  let current = await open(inside(base, '.'), folderFlags);
  try {
    for (let index = 0; index < parts.length; index += 1) {
      const label = parts.slice(0, index + 1).join('/');
      const next = await openChildFolder(current, parts[index] as string, label, create);
      await current.close();
      current = next;
    }
    return current;
  } catch (error) {
    await current.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Opens a regular file at `relative` under `base` for reading, every component unfollowed; a
 * symlink, FIFO (never blocked on), device or folder throws NotFollowed.
 */
export async function openRegularFile(base: FileHandle, relative: string): Promise<FileHandle> {
  const parts = relative.split('/').filter(Boolean);
  const name = parts.pop();
  if (name === undefined) throw new NotFollowed(relative, 'is not a file');
  const folder = await walkFolders(base, parts);
  let file: FileHandle;
  try {
    file = await open(
      inside(folder, name),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    throw notFollowed(relative, (error as NodeJS.ErrnoException).code, error);
  } finally {
    await folder.close();
  }
  if (!(await file.stat()).isFile()) {
    await file.close();
    throw new NotFollowed(relative, 'is not a regular file');
  }
  return file;
}

function notFollowed(label: string, code: string | undefined, cause: unknown): Error {
  if (code === 'ELOOP') return new NotFollowed(label, 'is a symlink');
  if (code === 'ENOTDIR') return new NotFollowed(label, 'is not a folder');
  if (code === 'ENOENT') return new NotFollowed(label, 'is not there');
  return cause instanceof Error ? cause : new Error(String(cause));
}
