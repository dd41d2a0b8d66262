import { mkdir, rmdir } from 'node:fs/promises';
import type { BlockFilesystem, DriveAdapter, DriveMount, MountEntry } from '../adapters/drive.js';
import { isReadOnly } from '../adapters/mountinfo.js';
import { AgentError } from '../errors.js';
import { ensureRootOnlyFolder, refuseUnsafePath, removeEmptyFolders } from './drive-folders.js';
import type { ResolvedDrive } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { UndoStack } from './undo-stack.js';
import { stateNotes } from './state-notes.js';

/** What mounting needs of prepareDrive's context. */
export interface MountContext {
  config: { stateDir: string };
  drive: DriveAdapter;
  driveConfig: Pick<ResolvedDrive, 'mountPoint'>;
  log: Logger;
  undo: UndoStack;
  signal: AbortSignal;
  dryRun: boolean;
  runId: string;
}

/** The drive as the agent works on it, once mounted (or bound) and proved. */
export interface DriveInUse {
  drive: DriveMount;
  /** The mount the agent works through (its type and flags). */
  entry: MountEntry;
  /** Where the drive's root is for the agent: its own mount point, or its private bind. */
  root: string;
  /** Where a person finds the drive (the record's drive.mountPoint). */
  shownMountPoint: string;
  mountedByAgent: boolean;
  /** Unmounts the agent's mount or bind now (also on the undo stack); null if there is none. */
  unmount: (() => Promise<void>) | null;
}

/**
 * The drive mounted for the agent's use. Mounted by someone else already (a desktop automount):
 * never worked through, since its flags (symlinks followed, setuid honoured) and its path are
 * not the agent's; a private bind of that mount alone (not what is mounted under it) goes in a
 * root-only folder under stateDir, with nosymfollow,nosuid,nodev,noexec, and is removed at the
 * end, the desktop's mount left as it was. Else the agent mounts it at drive.mountPoint. In a dry
 * run with the drive not mounted, null: nothing to look at.
 *
 * Why nobody can race a path between the agent's proof (mount id of an open folder) and its
 * writes: above the drive's root, every folder is root's and only root can rename in it
 * (refuseUnsafePath; the private view's folder is 0700 under root's stateDir), and a mount point
 * cannot be renamed at all; below it, on the drive, the mount is nosymfollow, so a folder
 * someone swaps for a symlink there is a dead end to the kernel (ELOOP), not a way off the drive.
 */
export async function mountForUse(
  context: MountContext,
  filesystem: BlockFilesystem,
): Promise<DriveInUse | null> {
  const { driveConfig, drive, log, undo, signal } = context;
  const mountPoint = driveConfig.mountPoint;
  await refuseUnsafePath(mountPoint, 'drive.mountPoint');
  const mounts = await drive.mountsOf(filesystem);
  const desktop = mounts.find((entry) => entry.mountPoint === mountPoint) ?? mounts.at(-1);
  const mountNote = stateNotes(context.config.stateDir).driveMounted;
  const note = (at: string): Promise<void> =>
    mountNote.write({
      uuid: filesystem.uuid,
      device: filesystem.device,
      mountPoint: at,
      runId: context.runId,
    });
  if (desktop) {
    if (isReadOnly(desktop)) throw readOnly(desktop.mountPoint, filesystem);
    const target = await ensureRootOnlyFolder(context.config.stateDir, [
      'mnt',
      filesystem.uuid.replace(/[^\w-]/g, '_'),
    ]);
    const bound = await drive.bindPrivately(desktop, filesystem, target, signal);
    // Unbinding must not be cancelled by the signal that interrupted the run.
    const unmount = undo.push('remove the private view of the backup drive', async () => {
      await drive.unbind(target);
      await mountNote.clear();
      await rmdir(target).catch(() => undefined);
    });
    // If this run dies, the next one (or `recover`) removes the bind.
    await note(target);
    log.info(
      { step: 'drive', mountPoint: desktop.mountPoint, workingThrough: target },
      `The drive is already mounted at ${desktop.mountPoint}; working through a private view of it at ${target} (that mount is left as it is).`,
    );
    return {
      drive: bound,
      entry: await entryOf(context, bound, target),
      root: target,
      shownMountPoint: desktop.mountPoint,
      mountedByAgent: false,
      unmount,
    };
  }
  const occupant = await drive.mountAt(mountPoint);
  if (occupant) {
    throw new AgentError(
      'DRIVE_MISMATCH',
      `Another filesystem (${occupant.source}, ${occupant.fsType}) is mounted at ${mountPoint}, where the backup drive belongs.`,
      {
        step: 'drive',
        hint: `Nothing was written. Unmount it (umount '${mountPoint}') or change drive.mountPoint.`,
      },
    );
  }
  if (context.dryRun) return null;
  // systemd-mount makes the mount point itself; under the unit's read-only view of the file
  // system the agent could not, and need not.
  const created = drive.mountCreatesMountPoint
    ? undefined
    : await mkdir(mountPoint, { recursive: true, mode: 0o755 });
  const removeMountPoint = async (): Promise<void> => {
    if (created) await removeEmptyFolders(created, mountPoint);
  };
  const mounted = await drive
    .mount(filesystem, mountPoint, signal)
    .catch(async (error: unknown) => {
      await removeMountPoint();
      throw error;
    });
  const unmount = undo.push('unmount the backup drive', async () => {
    await drive.unmount(mountPoint);
    await mountNote.clear();
    log.info({ step: 'drive' }, `Unmounted the backup drive from ${mountPoint}.`);
    await removeMountPoint();
  });
  // If this run dies, the next one (or `recover`) unmounts what it mounted.
  await note(mountPoint);
  log.info({ step: 'drive', mountPoint }, `Mounted the backup drive at ${mountPoint}.`);
  return {
    drive: mounted,
    entry: await entryOf(context, mounted, mountPoint),
    root: mountPoint,
    shownMountPoint: mountPoint,
    mountedByAgent: true,
    unmount,
  };
}

async function entryOf(context: MountContext, drive: DriveMount, at: string): Promise<MountEntry> {
  const entry = await context.drive.mountAt(at);
  if (!entry || entry.mountId !== drive.mountId)
    throw new AgentError('DRIVE_GONE', `The backup drive is no longer mounted at ${at}.`, {
      step: 'drive',
      hint: 'The backup drive was probably unplugged; plug it in and run again.',
    });
  return entry;
}

export function readOnly(mountPoint: string, filesystem: BlockFilesystem): AgentError {
  return new AgentError(
    'DRIVE_READ_ONLY',
    `The backup drive is mounted read-only at ${mountPoint}.`,
    {
      step: 'drive',
      hint:
        filesystem.fsType === 'ntfs'
          ? 'A read-only NTFS mount means errors on it (Windows left it hibernated or unclean: shut Windows down fully, or run ntfsfix) or a driver that can only read it (install ntfs-3g).'
          : 'A read-only mount often means filesystem errors: check it with fsck, then run again.',
    },
  );
}
