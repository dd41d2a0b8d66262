import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { DriveAdapter, DriveMount } from '../adapters/drive.js';
import { AgentError } from '../errors.js';

/**
 * Creates `relative` under a proven folder one component at a time, proving each before going
 * on: a symlink is refused (the drive is not trusted: one planted there would lead root's writes
 * anywhere), as is anything but a folder. A folder the agent writes in stays root's (see
 * keepRootOwned). In a dry run it only proves what exists.
 */
export async function ensureFolderOnDrive(
  drive: Pick<DriveAdapter, 'proveOnDrive'>,
  filesystem: DriveMount,
  provenBase: string,
  relative: string,
  create: boolean,
): Promise<void> {
  let current = provenBase;
  for (const part of relative.split('/').filter(Boolean)) {
    current = path.join(current, part);
    const existing = await lstat(current).catch(() => null);
    if (existing === null) {
      if (!create) return;
      await mkdir(current, { mode: 0o755 });
    } else if (!existing.isDirectory()) {
      throw new AgentError(
        'DRIVE_MISMATCH',
        `${current} on the drive is ${existing.isSymbolicLink() ? 'a symlink' : 'not a folder'}: nothing is written through it.`,
        {
          step: 'drive',
          hint: 'Move it away (it was not made by the agent), or change drive.backupDir.',
        },
      );
    }
    await drive.proveOnDrive(current, filesystem);
    if (create) await keepRootOwned(current);
  }
}

/**
 * Gives a folder on the drive back to root (0755) if someone else owns it: `rsync -a` copies the
 * library root's owner and mode onto `files/`, and whoever owns a folder the agent writes in
 * can rename and replace what is in it. Through a descriptor opened without following links, so
 * it is the proven folder that changes. On a drive without owners (FAT) every file is already
 * root's, by the mount's options, and nothing changes.
 */
export async function keepRootOwned(folder: string): Promise<void> {
  const handle = await open(
    folder,
    constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
  );
  try {
    const status = await handle.stat();
    if (status.uid === 0 && status.gid === 0) return;
    await handle.chown(0, 0);
    await handle.chmod(0o755);
  } catch (error) {
    // A drive without owners (FAT, exFAT) shows the owner its mount gives, someone else's when
    // a desktop mounted it: there is nothing to give back, and its driver refuses (or ignores).
    if (
      !['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL', 'ENOSYS'].includes(
        (error as NodeJS.ErrnoException).code ?? '',
      )
    )
      throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a configured path (drive.mountPoint) that is, or goes through, a symlink (mount(8)
 * would mount wherever it leads), or a folder someone other than root could rename away and
 * replace between the agent's proof and its writes: each folder on the way must be root's, in
 * a folder only root can change (or a sticky one such as /tmp, where only an entry's owner
 * can rename it). Parts that do not exist yet are made as folders by the agent.
 */
export async function refuseUnsafePath(configured: string, key: string): Promise<void> {
  const refuse = (why: string): AgentError =>
    new AgentError(
      'CONFIG_INSECURE',
      `${key} ${configured} ${why}: the drive is not mounted there.`,
      {
        step: 'drive',
        hint: `Set ${key} to a folder of root's (such as /media/<user>/<name>, no symlinks on the way); nothing was mounted or written.`,
      },
    );
  let current = path.parse(path.resolve(configured)).root;
  let parent = await lstat(current);
  for (const part of path.resolve(configured).split('/').filter(Boolean)) {
    current = path.join(current, part);
    const status = await lstat(current).catch(() => null);
    if (status === null) return;
    if (status.isSymbolicLink()) throw refuse(`goes through a symlink (${current})`);
    const othersMayRename =
      parent.uid !== 0 ||
      ((parent.mode & 0o022) !== 0 && !((parent.mode & 0o1000) !== 0 && status.uid === 0));
    if (othersMayRename)
      throw refuse(`goes through ${current}, which someone other than root can rename or replace`);
    parent = status;
  }
}

/**
 * Makes `<base>/<parts…>` folders only root can enter (0700), each checked without following
 * links (lstat: a symlink is not a folder), under a `base` (stateDir) that only root can change:
 * root's private place for a view of the drive, which no one else can reach, rename or swap.
 */
export async function ensureRootOnlyFolder(
  base: string,
  parts: readonly string[],
): Promise<string> {
  await mkdir(base, { recursive: true, mode: 0o700 });
  let current = base;
  for (const part of ['', ...parts]) {
    if (part !== '') {
      current = path.join(current, part);
      await mkdir(current, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
    const status = await lstat(current);
    if (!status.isDirectory() || status.uid !== 0 || (status.mode & 0o022) !== 0)
      throw new AgentError(
        'CONFIG_INSECURE',
        `${current} is not a folder only root can change: no view of the drive is made there.`,
        { step: 'drive', hint: `Remove ${current} (the agent makes it again, owned by root).` },
      );
    if (part !== '' && (status.mode & 0o077) !== 0) await chmod(current, 0o700);
  }
  return current;
}

/** Removes the folders made for a mount point (from the deepest up), as long as they are empty. */
export async function removeEmptyFolders(firstCreated: string, deepest: string): Promise<void> {
  let current = deepest;
  while (current.length >= firstCreated.length) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or still a mount point): leave it
    }
    current = path.dirname(current);
  }
}
