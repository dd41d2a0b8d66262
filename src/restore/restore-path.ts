import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import { lstat, open, rename, type FileHandle } from 'node:fs/promises';
import type { SkippedEntry } from '../drive-content/versions.js';
import type { LibraryFolder } from './library-folder.js';
import { inside, NotFollowed, openFolder, openRegularFile, walkFolders } from './no-follow.js';

export interface PathRestoreResult {
  restored: number;
  unchanged: number;
  /** Copies on the drive that were not taken (links, specials, gone): named, never read. */
  skipped: SkippedEntry[];
  /** Files of the library not written because something in the way was not a plain folder. */
  refused: SkippedEntry[];
}

/**
 * Copies `copies` (library path → the copy's path under backupDir) into the library. Both sides
 * are walked without following a symlink (see no-follow.ts): a copy that is not a regular file
 * on the drive is skipped, a library path with a symlink or a non-folder on the way is refused,
 * and neither is read or written through. A file replaced is moved into `asideName` first
 * (rename moves a planted symlink itself, never what it points to); the new one is created
 * exclusively, owned by the library's owner, without setuid, setgid or sticky bits.
 */
export async function restoreCopies(
  backupDir: string,
  copies: ReadonlyMap<string, string>,
  library: LibraryFolder,
  options: { asideName: string; plainModes: boolean },
): Promise<PathRestoreResult> {
  const result: PathRestoreResult = { restored: 0, unchanged: 0, skipped: [], refused: [] };
  const drive = await openFolder(backupDir);
  try {
    for (const [relative, copy] of copies) {
      let source: FileHandle;
      try {
        source = await openRegularFile(drive, copy);
      } catch (error) {
        if (!(error instanceof NotFollowed)) throw error;
        result.skipped.push({ entry: error.entry, why: error.why });
        continue;
      }
      try {
        const outcome = await putBack(source, relative, library, options);
        if (outcome === 'unchanged') result.unchanged += 1;
        else result.restored += 1;
      } catch (error) {
        if (!(error instanceof NotFollowed)) throw error;
        result.refused.push({ entry: error.entry, why: `${error.why} in the library` });
      } finally {
        await source.close();
      }
    }
  } finally {
    await drive.close();
  }
  return result;
}

async function putBack(
  source: FileHandle,
  relative: string,
  library: LibraryFolder,
  options: { asideName: string; plainModes: boolean },
): Promise<'restored' | 'unchanged'> {
  const parts = relative.split('/');
  const name = parts.pop() as string;
  const owner = library.owner;
  const folder = await walkFolders(library.handle, parts, { owner }).catch((error: unknown) => {
    throw error instanceof NotFollowed
      ? new NotFollowed(relative, `is under ${error.entry}, which ${error.why}`)
      : error;
  });
  try {
    // lstat through the folder held: the entry itself, a symlink in its place included.
    const existing = await lstat(inside(folder, name)).catch(() => null);
    if (existing?.isDirectory()) throw new NotFollowed(relative, 'is a folder');
    if (existing?.isFile() && (await sameAsSource(folder, name, source))) return 'unchanged';
    if (existing !== null) {
      // Moved aside as it is: rename takes a symlink or FIFO itself, never what it points to.
      const aside = await walkFolders(library.handle, [options.asideName, ...parts], { owner });
      try {
        await rename(inside(folder, name), inside(aside, name));
      } finally {
        await aside.close();
      }
    }
    const sourceInfo = await source.stat();
    const target = await open(
      inside(folder, name),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    ).catch((error: unknown) => {
      throw (error as NodeJS.ErrnoException).code === 'EEXIST'
        ? new NotFollowed(relative, 'was put back in its place meanwhile')
        : error;
    });
    try {
      // Streamed, not read whole: a video can be larger than a Buffer may be.
      await eachChunk(source, (chunk) => target.write(chunk).then(() => undefined));
      await target.chown(owner.uid, owner.gid);
      // A drive without permissions has only its mount's made-up modes: plain ones instead.
      await target.chmod(options.plainModes ? 0o644 : sourceInfo.mode & 0o777);
      await target.utimes(sourceInfo.atime, sourceInfo.mtime);
    } finally {
      await target.close();
    }
    return 'restored';
  } finally {
    await folder.close();
  }
}

/** The library's file `name` (opened unfollowed, never a FIFO waited on) has the source's bytes. */
async function sameAsSource(
  folder: FileHandle,
  name: string,
  source: FileHandle,
): Promise<boolean> {
  const current = await open(
    inside(folder, name),
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  ).catch(() => null);
  if (current === null) return false;
  try {
    const info = await current.stat();
    if (!info.isFile() || info.size !== (await source.stat()).size) return false;
    return (await digest(current)) === (await digest(source));
  } finally {
    await current.close();
  }
}

async function digest(file: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  await eachChunk(file, (chunk) => {
    hash.update(chunk);
  });
  return hash.digest('hex');
}

/** Reads a whole file held open from its start, a MiB at a time. */
async function eachChunk(
  file: FileHandle,
  use: (chunk: Buffer) => Promise<void> | void,
): Promise<void> {
  const buffer = Buffer.alloc(1024 * 1024);
  for (let position = 0; ;) {
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    await use(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}
