import { constants } from 'node:fs';
import { lstat, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { groupMemberUids } from './group-members.js';

/** Immich's .env is about 1 KB and its compose file 4 KB: anything near this is not theirs. */
export const immichFileMaxBytes = 256 * 1024;

export type ImmichFileRead =
  /** The file's bytes, read through the descriptor that was checked. */
  | { content: Buffer; file: string }
  /** Not there (or not readable): a missing file, not an attack. */
  | { missing: string; notFound: boolean; file: string }
  /** There, but not something root may take as Immich's: the sentence says why. */
  | { refused: string; file: string };

const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Reads `.env` or the compose file of an Immich app folder as input from its owner, not as
 * configuration: the folder is opened without following a symlink, the file is looked up in
 * that open folder (not by its path again) without following one either, and it is taken
 * only when it is a regular file with one link, no bigger than `immichFileMaxBytes`, owned by
 * root or the folder's owner and writable by no one else. Its bytes are read through the same
 * descriptor that was checked, never reopened by name.
 */
export async function readImmichFile(appDir: string, name: string): Promise<ImmichFileRead> {
  const file = path.join(appDir, name);
  let folder: FileHandle;
  try {
    folder = await open(appDir, flags | constants.O_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // O_DIRECTORY with O_NOFOLLOW fails a symlink with ENOTDIR (ELOOP on some kernels).
    const link = await lstat(appDir).then(
      (info) => info.isSymbolicLink(),
      () => false,
    );
    if (code === 'ELOOP' || link)
      return {
        refused: `the app folder ${appDir} is a symlink (use the folder it leads to)`,
        file,
      };
    return { missing: describe(file, error), notFound: code === 'ENOENT', file };
  }
  try {
    const owner = (await folder.stat()).uid;
    let handle: FileHandle;
    try {
      // Through /proc: `name` is looked up in the folder already open, like openat(2).
      handle = await open(`/proc/self/fd/${folder.fd}/${name}`, flags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return { refused: `${file} is a symlink`, file };
      return { missing: describe(file, error), notFound: code === 'ENOENT', file };
    }
    try {
      // A folder by that name (Docker makes one for a missing bind mount) is a mistake, not a
      // trick: reported like a missing file.
      if ((await handle.stat()).isDirectory())
        return { missing: `${file} is a folder, not a file`, notFound: false, file };
      const refused = await trustProblem(handle, owner);
      if (refused !== null) return { refused: `${file} ${refused}`, file };
      const content = await readCapped(handle);
      if (content === null)
        return { refused: `${file} grew past ${immichFileMaxBytes} bytes`, file };
      return { content, file };
    } finally {
      await handle.close();
    }
  } finally {
    await folder.close();
  }
}

/** Why the open file is not to be trusted as Immich's, or null. */
async function trustProblem(handle: FileHandle, folderOwner: number): Promise<string | null> {
  const info = await handle.stat();
  if (!info.isFile()) return 'is not a regular file';
  if (info.size > immichFileMaxBytes) return `is larger than ${immichFileMaxBytes} bytes`;
  // A second link may be another file (root's) linked in under Immich's name.
  if (info.nlink !== 1) return `has ${info.nlink} hard links (it may be another file linked in)`;
  const trusted = new Set([0, folderOwner]);
  if (!trusted.has(info.uid))
    return `is owned by uid ${info.uid}, neither root nor the app folder's owner (uid ${folderOwner})`;
  const mode = (info.mode & 0o777).toString(8);
  if (info.mode & 0o002) return `is writable by everyone (mode ${mode})`;
  if (info.mode & 0o020) {
    // Group write is harmless when the group holds no one else: a user's private group, the
    // default of Debian and Ubuntu (umask 002), where files are created 0664.
    const members = groupMemberUids(
      info.gid,
      await readFile('/etc/passwd', 'utf8').catch(() => ''),
      await readFile('/etc/group', 'utf8').catch(() => ''),
    );
    if (members === null || [...members].some((uid) => !trusted.has(uid)))
      return `is writable by group ${info.gid}, which has members other than root and the app folder's owner (mode ${mode})`;
  }
  return null;
}

/** The file's bytes, or null when it holds more than the cap (it grew after the check). */
async function readCapped(handle: FileHandle): Promise<Buffer | null> {
  const buffer = Buffer.alloc(immichFileMaxBytes + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (length > immichFileMaxBytes) return null;
  }
  return buffer.subarray(0, length);
}

function describe(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${file} does not exist`;
  if (code === 'EACCES') return `${file} is not readable`;
  if (code === 'ENOTDIR') return `${file} is not in a folder`;
  return `${file} could not be read (${(error as Error).message})`;
}
