import type { FileHandle } from 'node:fs/promises';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { openChildFolder, openFolder, NotFollowed } from './no-follow.js';

/**
 * Folders a restore never writes into, nor under: the library path may come from UPLOAD_LOCATION
 * in a `.env` that a normal user owns, and root copies whatever the drive holds there. A file
 * put in one of these is run, loaded or trusted by the system (configuration, programs and
 * libraries, the kernel and boot loader, root's home, cron's spool, the journal's and the
 * agent's own state), or the folder is not a disk at all (/proc, /sys, /dev, /run).
 */
export const systemFolders = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/efi',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/root',
  '/var/spool',
  '/var/log',
  '/var/lib/immich-backup-agent',
  '/var/lib/systemd',
  '/var/lib/dpkg',
  '/var/lib/apt',
] as const;

/**
 * Folders that hold everyone's folders: a library may be below them, never be one of them
 * (a restore would spread photos over /home, and take /home's owner for them: root).
 */
const sharedRoots = ['/', '/home', '/media', '/mnt', '/srv', '/opt', '/var', '/var/lib', '/tmp'];

/** Where a restore may not write: the list above, the agent's stateDir, its log's folder. */
export function refusedPlace(
  libraryDir: string,
  agentFolders: readonly string[],
): { folder: string; why: string } | null {
  const folder = path.resolve(libraryDir);
  if (sharedRoots.includes(folder)) return { folder, why: 'a folder everyone’s folders are in' };
  for (const system of [...systemFolders, ...agentFolders.map((agent) => path.resolve(agent))]) {
    if (folder === system || folder.startsWith(`${system}/`)) {
      return { folder: system, why: 'a system folder' };
    }
  }
  return null;
}

/**
 * Refuses a library that is, or is under, a system folder, as configured and as it really is
 * (the part that exists resolved: a symlink there is the library owner's to point anywhere).
 * Returns the real path, where the restore writes.
 */
export async function checkLibraryPlace(
  libraryDir: string,
  agentFolders: readonly string[],
): Promise<string> {
  const real = await realPathOfNearest(libraryDir);
  for (const candidate of [libraryDir, real]) {
    const refused = refusedPlace(candidate, agentFolders);
    if (refused) {
      throw new AgentError(
        'CONFIG_INVALID',
        `The library folder ${libraryDir}${real !== libraryDir ? ` (really ${real})` : ''} is in ${refused.folder}, ${refused.why}: a restore does not write there.`,
        {
          step: 'restore',
          hint: 'Set immich.libraryDir (or UPLOAD_LOCATION in Immich’s .env) to the folder that holds Immich’s library.',
        },
      );
    }
  }
  return real;
}

/** The real path of the deepest folder of `target` that exists, with the rest appended. */
async function realPathOfNearest(target: string): Promise<string> {
  const absolute = path.resolve(target);
  const rest: string[] = [];
  for (let current = absolute; ; current = path.dirname(current)) {
    const real = await realpath(current).catch(() => null);
    if (real !== null) return path.join(real, ...rest);
    if (current === path.dirname(current)) return absolute;
    rest.unshift(path.basename(current));
  }
}

export interface LibraryFolder {
  /** The library folder, held open: writes go through it, never through its path again. */
  handle: FileHandle;
  /** Its real path, for messages. */
  realPath: string;
  /** Whom what a restore writes belongs to: the library folder's owner. */
  owner: { uid: number; gid: number };
}

/**
 * Opens the library for a restore's writes: its place checked (see checkLibraryPlace), then
 * reached from / one component at a time without following a symlink (one swapped in since is
 * refused), the missing tail made and given the owner of the folder it is made in.
 */
export async function openLibraryFolder(
  libraryDir: string,
  agentFolders: readonly string[],
): Promise<LibraryFolder> {
  const realPath = await checkLibraryPlace(libraryDir, agentFolders);
  let current = await openFolder('/');
  try {
    let owner = { uid: 0, gid: 0 };
    for (const [index, part] of realPath.split('/').filter(Boolean).entries()) {
      const info = await current.stat();
      owner = { uid: info.uid, gid: info.gid };
      const label = `/${realPath
        .split('/')
        .filter(Boolean)
        .slice(0, index + 1)
        .join('/')}`;
      const next = await openChildFolder(current, part, label, { owner });
      await current.close();
      current = next;
    }
    const info = await current.stat();
    return { handle: current, realPath, owner: { uid: info.uid, gid: info.gid } };
  } catch (error) {
    await current.close().catch(() => undefined);
    if (error instanceof NotFollowed) {
      throw new AgentError(
        'RESTORE_FAILED',
        `The library folder ${libraryDir} cannot be reached without following a link: ${error.message}.`,
        {
          step: 'restore',
          hint: 'Nothing was written into the library. Check who changes the folders on its path.',
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** The library folder's owner without opening it (for a plan; null when it does not exist yet). */
export async function libraryOwner(realPath: string): Promise<{ uid: number; gid: number } | null> {
  const info = await stat(realPath).catch(() => null);
  return info ? { uid: info.uid, gid: info.gid } : null;
}
