import path from 'node:path';
import type { BlockFilesystem, DriveAdapter, DriveMount } from '../adapters/drive.js';
import { isReadOnly } from '../adapters/mountinfo.js';
import { driveIdentity } from '../adapters/sysfs-usb.js';
import type { AgentConfig, ResolvedDrive } from '../config/load.js';
import type { RunRecord } from '../history/record.js';
import { backupLayout, filesFolder, historyFolder, versionsFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { ensureFolderOnDrive } from './drive-folders.js';
import { mountForUse, readOnly } from './drive-mount.js';
import { ensureDriveTrusted, type AdoptShown, type TrustMode } from './drive-trust.js';
import type { UndoStack } from './undo-stack.js';

/** What preparing the drive needs: a backup run's, or verify's and restore's session's. */
export interface DriveContext {
  config: Pick<AgentConfig, 'stateDir'>;
  /** The block devices and mounts adapter. */
  drive: DriveAdapter;
  /** Which configured drive (see chooseDrive). */
  driveConfig: ResolvedDrive;
  log: Logger;
  undo: UndoStack;
  signal: AbortSignal;
  dryRun: boolean;
  runId: string;
  /** Told what the record says of the drive as soon as it is known (a later check may fail). */
  onDrive?: (drive: NonNullable<RunRecord['drive']>) => void;
  /** `adopt` makes the drive the trusted one (`drive trust`); otherwise it is checked. */
  trust?: TrustMode;
  /** With `adopt`: the device shown to the user; another one attached by now is refused. */
  adoptShown?: AdoptShown;
}

export interface PreparedDrive {
  /** The drive and the id of the mount the agent works through: what every proof compares. */
  filesystem: DriveMount;
  /** Where the drive's root is for the agent: its own mount, or its private view of another. */
  root: string;
  /** `<root>/<drive.backupDir>` and its `files/`. */
  backupDir: string;
  filesDir: string;
  filesystemType: string;
  /** The mount's own type (fuseblk, fuse.fusefat for drives mounted through FUSE). */
  mountType: string;
  mountedByAgent: boolean;
  /** Where a person finds the drive: the agent's mount point, or the desktop's mount of it. */
  shownMountPoint: string;
  /** False only in a dry run when the drive is not mounted (nothing can be looked at). */
  mounted: boolean;
  /**
   * Unmounts the drive now, and removes the mount point folder if it was made for it; null when
   * the agent did not mount it. Also on the undo stack, for the failure path.
   */
  unmount: (() => Promise<void>) | null;
}

/**
 * Finds the drive by filesystem UUID, works through a private view of an existing mount of it (a
 * desktop automount) or mounts it at drive.mountPoint (see mountForUse), and proves that the backup folder is on that filesystem before
 * anything is written: a foreign filesystem at the mount point, a bare folder on the root disk
 * or a symlink leading off the drive are refused. Registers the unmount only if it mounted.
 */
export async function prepareDrive(
  context: DriveContext,
  options: { create: boolean } = { create: true },
): Promise<PreparedDrive> {
  const { driveConfig, drive, log, dryRun } = context;
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
  const mounted = await mountForUse(context, filesystem);
  if (mounted === null) {
    log.info({ step: 'drive' }, `Would mount ${filesystem.device} at ${driveConfig.mountPoint}.`);
    context.onDrive?.({
      ...driveRecord(filesystem, driveConfig.mountPoint, filesystem.fsType, true),
      label: driveConfig.label,
      identity,
    });
    return described(
      { ...filesystem, mountId: -1 },
      driveConfig.mountPoint,
      filesystem.fsType,
      filesystem.fsType,
      {
        mountedByAgent: true,
        shownMountPoint: driveConfig.mountPoint,
        mounted: false,
        backupDir: driveConfig.backupDir,
        unmount: null,
      },
    );
  }
  const { entry: mount, mountedByAgent, unmount } = mounted;
  if (isReadOnly(mount)) throw readOnly(mounted.shownMountPoint, filesystem);
  // What is on the drive (blkid: exfat, ntfs), not the driver that mounts it (FUSE's fuseblk).
  const filesystemType = filesystem.fsType === 'unknown' ? mount.fsType : filesystem.fsType;
  context.onDrive?.({
    ...driveRecord(filesystem, mounted.shownMountPoint, filesystemType, mountedByAgent),
    label: driveConfig.label,
    identity,
  });
  await drive.proveOnDrive(mounted.root, mounted.drive);
  // The drive is pinned (drive-trust.ts): an impostor with the UUID gets nothing from here on.
  await ensureDriveTrusted(context, mounted.drive, mounted.root, options.create);
  const prepared = described(mounted.drive, mounted.root, filesystemType, mount.fsType, {
    mountedByAgent,
    shownMountPoint: mounted.shownMountPoint,
    mounted: true,
    backupDir: driveConfig.backupDir,
    unmount,
  });
  const proven = mounted.drive;
  await ensureFolderOnDrive(drive, proven, mounted.root, driveConfig.backupDir, create);
  await ensureFolderOnDrive(drive, proven, prepared.backupDir, filesFolder, create);
  // The other folders the agent writes in, as far as they exist: before anything is stopped.
  for (const folder of [versionsFolder, historyFolder])
    await ensureFolderOnDrive(drive, proven, prepared.backupDir, folder, false);
  return prepared;
}

function driveRecord(
  filesystem: BlockFilesystem,
  mountPoint: string,
  filesystemType: string,
  mountedByAgent: boolean,
): NonNullable<RunRecord['drive']> {
  return {
    uuid: filesystem.uuid,
    mountPoint,
    device: filesystem.device,
    filesystemType,
    mountedByAgent,
  };
}

function described(
  filesystem: DriveMount,
  root: string,
  filesystemType: string,
  mountType: string,
  how: {
    mountedByAgent: boolean;
    shownMountPoint: string;
    mounted: boolean;
    backupDir: string;
    unmount: (() => Promise<void>) | null;
  },
): PreparedDrive {
  const layout = backupLayout(path.join(root, how.backupDir));
  return {
    filesystem,
    root,
    backupDir: layout.backupDir,
    filesDir: layout.filesDir,
    filesystemType,
    mountType,
    mountedByAgent: how.mountedByAgent,
    shownMountPoint: how.shownMountPoint,
    mounted: how.mounted,
    unmount: how.unmount,
  };
}
