import { lstat, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlockFilesystem, MountEntry } from '../../adapters/drive.js';
import { isReadOnly } from '../../adapters/mountinfo.js';
import { driveIdentity } from '../../adapters/sysfs-usb.js';
import { AgentError } from '../../errors.js';
import type { StepContext } from '../context.js';
import { createMountNote } from '../notes.js';
import type { RunState } from '../run-state.js';

/** What preparing the drive needs: a backup run's context, or verify's and restore's. */
export type DriveContext = Pick<
  StepContext,
  'config' | 'drive' | 'log' | 'undo' | 'signal' | 'dryRun' | 'driveConfig'
> & {
  runId?: string;
  /** A backup run's state, which records the drive; absent for verify and restore. */
  state?: RunState;
};

export interface PreparedDrive {
  filesystem: BlockFilesystem;
  /** Where the drive's root is mounted. */
  root: string;
  /** `<root>/<drive.backupDir>` and its `files/`. */
  backupDir: string;
  filesDir: string;
  filesystemType: string;
  /** The mount's own type (fuseblk, fuse.fusefat for drives mounted through FUSE). */
  mountType: string;
  mountedByAgent: boolean;
  /** False only in a dry run when the drive is not mounted (nothing can be looked at). */
  mounted: boolean;
}

/**
 * Finds the drive by filesystem UUID, uses an existing mount of it (a desktop automount) or
 * mounts it at drive.mountPoint, and proves that the backup folder is on that filesystem before
 * anything is written: a foreign filesystem at the mount point, a bare folder on the root disk
 * or a symlink leading off the drive are refused. Registers the unmount only if it mounted.
 */
export async function prepareDrive(
  context: DriveContext,
  options: { create: boolean } = { create: true },
): Promise<PreparedDrive> {
  const { driveConfig, drive, log, undo, state, dryRun } = context;
  const create = options.create && !dryRun;
  const filesystem = await drive.locate(driveConfig.uuid, context.signal);
  const identity = await driveIdentity(filesystem.device);
  const hardware = identity.usb
    ? `${[identity.vendor, identity.model].filter(Boolean).join(' ') || 'USB drive'}, ${identity.speedMbps ?? '?'} Mb/s, ${identity.driver ?? 'unknown driver'}`
    : 'not a USB device';
  log.info(
    { step: 'drive', device: filesystem.device, fsType: filesystem.fsType, identity },
    `Found the backup drive ${filesystem.device} (${filesystem.fsType}${filesystem.label ? `, "${filesystem.label}"` : ''}; ${hardware}).`,
  );
  const mounts = await drive.mountsOf(filesystem);
  let mount: MountEntry | undefined =
    mounts.find((entry) => entry.mountPoint === driveConfig.mountPoint) ?? mounts[0];
  let mountedByAgent = false;
  const mountPoint = driveConfig.mountPoint;
  if (mount) {
    log.info(
      { step: 'drive', mountPoint: mount.mountPoint },
      `The drive is already mounted at ${mount.mountPoint}; using that mount.`,
    );
  } else {
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
    if (dryRun) {
      log.info({ step: 'drive' }, `Would mount ${filesystem.device} at ${mountPoint}.`);
      if (state)
        state.drive = {
          ...driveRecord(filesystem, mountPoint, filesystem.fsType, true),
          label: driveConfig.label,
          identity,
        };
      return described(filesystem, mountPoint, filesystem.fsType, filesystem.fsType, {
        mountedByAgent: true,
        mounted: false,
        backupDir: driveConfig.backupDir,
      });
    }
    // systemd-mount makes the mount point itself; under the unit's read-only view of the file
    // system the agent could not, and need not.
    const created = drive.mountCreatesMountPoint
      ? undefined
      : await mkdir(mountPoint, { recursive: true, mode: 0o755 });
    if (created)
      undo.push('remove the mount point folder it created', () =>
        removeEmptyFolders(created, mountPoint),
      );
    const mountNote = createMountNote(context.config.stateDir);
    await drive.mount(filesystem, mountPoint, context.signal);
    mountedByAgent = true;
    // Unmounting must not be cancelled by the signal that interrupted the run.
    undo.push('unmount the backup drive', async () => {
      await drive.unmount(mountPoint);
      await mountNote.clear();
      log.info({ step: 'drive' }, `Unmounted the backup drive from ${mountPoint}.`);
    });
    // If this run dies, the next one (or `recover`) unmounts what it mounted.
    await mountNote.write({
      uuid: filesystem.uuid,
      device: filesystem.device,
      mountPoint,
      runId: context.runId ?? 'unknown',
    });
    mount = (await drive.mountsOf(filesystem)).find((entry) => entry.mountPoint === mountPoint);
    if (!mount) {
      throw new AgentError(
        'MOUNT_FAILED',
        `mount reported success but ${filesystem.device} is not mounted at ${mountPoint}.`,
        { step: 'drive' },
      );
    }
    log.info({ step: 'drive', mountPoint }, `Mounted the backup drive at ${mountPoint}.`);
  }
  if (isReadOnly(mount)) {
    throw new AgentError(
      'DRIVE_READ_ONLY',
      `The backup drive is mounted read-only at ${mount.mountPoint}.`,
      {
        step: 'drive',
        hint:
          filesystem.fsType === 'ntfs'
            ? 'A read-only NTFS mount means errors on it (Windows left it hibernated or unclean: shut Windows down fully, or run ntfsfix) or a driver that can only read it (install ntfs-3g).'
            : 'A read-only mount often means filesystem errors: check it with fsck, then run again.',
      },
    );
  }
  // What is on the drive (blkid: exfat, ntfs), not the driver that mounts it (FUSE's fuseblk).
  const filesystemType = filesystem.fsType === 'unknown' ? mount.fsType : filesystem.fsType;
  if (state) {
    state.drive = {
      ...driveRecord(filesystem, mount.mountPoint, filesystemType, mountedByAgent),
      label: driveConfig.label,
      identity,
    };
  }
  await drive.proveOnDrive(mount.mountPoint, filesystem);
  const prepared = described(filesystem, mount.mountPoint, filesystemType, mount.fsType, {
    mountedByAgent,
    mounted: true,
    backupDir: driveConfig.backupDir,
  });
  await ensureFolderOnDrive(context, filesystem, mount.mountPoint, driveConfig.backupDir, create);
  await ensureFolderOnDrive(context, filesystem, prepared.backupDir, 'files', create);
  return prepared;
}

/**
 * Creates `relative` under a proven folder one component at a time, proving each before going
 * on, so a symlink planted on the drive cannot lead a write anywhere else. In a dry run it only
 * proves what exists.
 */
async function ensureFolderOnDrive(
  context: DriveContext,
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
    } else if (!existing.isDirectory() && !existing.isSymbolicLink()) {
      throw new AgentError('DRIVE_MISMATCH', `${current} on the drive is not a folder.`, {
        step: 'drive',
        hint: 'Move it away or change drive.backupDir.',
      });
    }
    await context.drive.proveOnDrive(current, filesystem);
  }
}

async function removeEmptyFolders(firstCreated: string, deepest: string): Promise<void> {
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

function driveRecord(
  filesystem: BlockFilesystem,
  mountPoint: string,
  filesystemType: string,
  mountedByAgent: boolean,
): NonNullable<StepContext['state']['drive']> {
  return {
    uuid: filesystem.uuid,
    mountPoint,
    device: filesystem.device,
    filesystemType,
    mountedByAgent,
  };
}

function described(
  filesystem: BlockFilesystem,
  root: string,
  filesystemType: string,
  mountType: string,
  how: { mountedByAgent: boolean; mounted: boolean; backupDir: string },
): PreparedDrive {
  const backup = path.join(root, how.backupDir);
  return {
    filesystem,
    root,
    backupDir: backup,
    filesDir: path.join(backup, 'files'),
    filesystemType,
    mountType,
    mountedByAgent: how.mountedByAgent,
    mounted: how.mounted,
  };
}
