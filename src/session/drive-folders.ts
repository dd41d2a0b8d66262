import { lstat, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlockFilesystem, DriveAdapter } from '../adapters/drive.js';
import { AgentError } from '../errors.js';

/**
 * Creates `relative` under a proven folder one component at a time, proving each before going
 * on: a symlink is refused (the drive is not trusted: one planted there would lead root's writes
 * anywhere), as is anything but a folder. In a dry run it only proves what exists.
 */
export async function ensureFolderOnDrive(
  drive: Pick<DriveAdapter, 'proveOnDrive'>,
  filesystem: BlockFilesystem,
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
  }
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
