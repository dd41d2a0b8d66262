import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlockFilesystem, DriveAdapter, MountEntry } from '../adapters/drive.js';
import { isReadOnly } from '../adapters/mountinfo.js';
import { driveIdentity } from '../adapters/sysfs-usb.js';
import type { AgentConfig, ResolvedDrive } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { RunRecord } from '../history/record.js';
import { backupLayout, filesFolder, historyFolder, versionsFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { ensureFolderOnDrive, removeEmptyFolders } from './drive-folders.js';
import { ensureDriveTrusted, type TrustMode } from './drive-trust.js';
import { stateNotes } from './state-notes.js';
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
}

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
  /**
   * Unmounts the drive now, and removes the mount point folder if it was made for it; null when
   * the agent did not mount it. Also on the undo stack, for the failure path.
   */
  unmount: (() => Promise<void>) | null;
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
  const { driveConfig, drive, log, undo, dryRun } = context;
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
  let unmount: (() => Promise<void>) | null = null;
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
      context.onDrive?.({
        ...driveRecord(filesystem, mountPoint, filesystem.fsType, true),
        label: driveConfig.label,
        identity,
      });
      return described(filesystem, mountPoint, filesystem.fsType, filesystem.fsType, {
        mountedByAgent: true,
        mounted: false,
        backupDir: driveConfig.backupDir,
        unmount: null,
      });
    }
    // systemd-mount makes the mount point itself; under the unit's read-only view of the file
    // system the agent could not, and need not.
    const created = drive.mountCreatesMountPoint
      ? undefined
      : await mkdir(mountPoint, { recursive: true, mode: 0o755 });
    const mountNote = stateNotes(context.config.stateDir).driveMounted;
    const removeMountPoint = async (): Promise<void> => {
      if (created) await removeEmptyFolders(created, mountPoint);
    };
    await drive.mount(filesystem, mountPoint, context.signal).catch(async (error: unknown) => {
      await removeMountPoint();
      throw error;
    });
    mountedByAgent = true;
    // Unmounting must not be cancelled by the signal that interrupted the run.
    unmount = undo.push('unmount the backup drive', async () => {
      await drive.unmount(mountPoint);
      await mountNote.clear();
      log.info({ step: 'drive' }, `Unmounted the backup drive from ${mountPoint}.`);
      await removeMountPoint();
    });
    // If this run dies, the next one (or `recover`) unmounts what it mounted.
    await mountNote.write({
      uuid: filesystem.uuid,
      device: filesystem.device,
      mountPoint,
      runId: context.runId,
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
  context.onDrive?.({
    ...driveRecord(filesystem, mount.mountPoint, filesystemType, mountedByAgent),
    label: driveConfig.label,
    identity,
  });
  await drive.proveOnDrive(mount.mountPoint, filesystem);
  // The drive is pinned (drive-trust.ts): an impostor with the UUID gets nothing from here on.
  await ensureDriveTrusted(context, filesystem, mount.mountPoint, options.create);
  const prepared = described(filesystem, mount.mountPoint, filesystemType, mount.fsType, {
    mountedByAgent,
    mounted: true,
    backupDir: driveConfig.backupDir,
    unmount,
  });
  await ensureFolderOnDrive(drive, filesystem, mount.mountPoint, driveConfig.backupDir, create);
  await ensureFolderOnDrive(drive, filesystem, prepared.backupDir, filesFolder, create);
  // The other folders the agent writes in, as far as they exist: before anything is stopped.
  for (const folder of [versionsFolder, historyFolder])
    await ensureFolderOnDrive(drive, filesystem, prepared.backupDir, folder, false);
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
  filesystem: BlockFilesystem,
  root: string,
  filesystemType: string,
  mountType: string,
  how: {
    mountedByAgent: boolean;
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
    mounted: how.mounted,
    unmount: how.unmount,
  };
}
