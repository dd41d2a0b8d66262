import { existsSync } from 'node:fs';
import { AgentError } from '../errors.js';
import { findFilesystemsByUuid, type BlockFilesystem } from './block-devices.js';
import {
  isMountOfDrive,
  isOwnMountOfDrive,
  proveFolderOnMount,
  type DriveMount,
} from './drive-identity.js';
import { perMountFlags } from './filesystem-types.js';
import { createMountTools } from './mount-tools.js';
import { readMountinfo, type MountEntry } from './mountinfo.js';
import type { ProcessGateway } from './process.js';

export type { BlockFilesystem } from './block-devices.js';
export type { MountEntry } from './mountinfo.js';
export type { DriveMount } from './drive-identity.js';

/** Block devices and mounts, from the caller's side: find, mount, unmount, prove. */
export interface DriveAdapter {
  /** systemd-mount makes the mount point itself (and the agent's view of / may be read-only). */
  readonly mountCreatesMountPoint: boolean;
  /** The one filesystem with this UUID; DRIVE_ABSENT or DRIVE_AMBIGUOUS otherwise. */
  locate(uuid: string, signal?: AbortSignal): Promise<BlockFilesystem>;
  /**
   * Where someone else has the whole filesystem mounted now (see isMountOfDrive: by device
   * number, never by a mount's source name), newest mount last.
   */
  mountsOf(filesystem: BlockFilesystem): Promise<MountEntry[]>;
  /** What is mounted exactly at this folder now, if anything. */
  mountAt(folder: string): Promise<MountEntry | undefined>;
  /**
   * Mounts the drive at `mountPoint` (nosymfollow, nosuid, nodev, noexec), and returns it with
   * the id of the mount that appeared there, proved to be the one the agent made.
   */
  mount(filesystem: BlockFilesystem, mountPoint: string, signal?: AbortSignal): Promise<DriveMount>;
  unmount(mountPoint: string, signal?: AbortSignal): Promise<void>;
  /**
   * Binds someone else's mount of the drive (that mount only) at `target`, a root-only folder,
   * with the agent's flags, and returns the bind, proved to be the drive's.
   */
  bindPrivately(
    source: MountEntry,
    filesystem: BlockFilesystem,
    target: string,
    signal?: AbortSignal,
  ): Promise<DriveMount>;
  /** Removes a bind made by bindPrivately. */
  unbind(target: string, signal?: AbortSignal): Promise<void>;
  /**
   * Proves that the folder `path` is on the drive's mount the agent made or bound (by mount id);
   * DRIVE_MISMATCH names what it is on instead. The guard in front of every write to the drive.
   */
  proveOnDrive(path: string, drive: DriveMount): Promise<void>;
}

export interface DriveAdapterOptions {
  /**
   * Mount through systemd (systemd-mount) instead of mount(8). Under a hardened systemd unit the
   * agent lives in its own mount namespace whose mounts do not propagate to the host: a mount it
   * made itself would be invisible to everyone else and vanish with the unit. systemd-mount has
   * PID 1 mount the drive in the host's namespace, from where it propagates into the unit.
   */
  useSystemdMount: boolean;
}

/** True when running as a systemd service on a machine booted with systemd. */
export function runningUnderSystemd(env = process.env): boolean {
  return !!env.INVOCATION_ID && existsSync('/run/systemd/system');
}

export function createDriveAdapter(
  gateway: ProcessGateway,
  options: DriveAdapterOptions = { useSystemdMount: false },
): DriveAdapter {
  const tools = createMountTools(gateway, options);
  return {
    mountCreatesMountPoint: options.useSystemdMount,
    async locate(uuid, signal) {
      const found = await findFilesystemsByUuid(gateway, uuid, signal);
      if (found.length === 0) {
        throw new AgentError(
          'DRIVE_ABSENT',
          `The backup drive (filesystem UUID ${uuid}) is not attached.`,
          {
            step: 'drive',
            hint: 'Plug in the backup drive; nothing was changed.',
          },
        );
      }
      if (found.length > 1) {
        throw new AgentError(
          'DRIVE_AMBIGUOUS',
          `${found.length} block devices carry filesystem UUID ${uuid} (${found.map((entry) => entry.device).join(', ')}): a cloned drive cannot be told apart from the original.`,
          { step: 'drive', hint: 'Unplug the copy, or give it a new UUID (tune2fs -U random).' },
        );
      }
      return found[0] as BlockFilesystem;
    },

    async mountsOf(filesystem) {
      const mounts: MountEntry[] = [];
      for (const entry of await readMountinfo())
        if (await isMountOfDrive(entry, filesystem)) mounts.push(entry);
      return mounts;
    },

    async mountAt(folder) {
      return (await readMountinfo()).filter((entry) => entry.mountPoint === folder).at(-1);
    },

    async mount(filesystem, mountPoint, signal) {
      const before = await mountIdsAt(mountPoint);
      await tools.mount(filesystem, mountPoint, signal);
      // What this call mounted and could not prove or restrict is not left mounted.
      return adopt(filesystem, mountPoint, before, isOwnMountOfDrive, signal).catch(
        async (error: unknown) => {
          await tools.unmount(mountPoint).catch(() => undefined);
          throw error;
        },
      );
    },

    unmount: (mountPoint, signal) => tools.unmount(mountPoint, signal),

    async bindPrivately(source, filesystem, target, signal) {
      const before = await mountIdsAt(target);
      // The source is a path, which mount(8) resolves: what the bind shows is proved after it
      // (the drive's device number, its whole filesystem), not assumed from the path.
      await tools.bind(source.mountPoint, target, signal);
      return adopt(filesystem, target, before, isMountOfDrive, signal).catch(
        async (error: unknown) => {
          await tools.unbind(target).catch(() => undefined);
          throw error;
        },
      );
    },

    unbind: (target, signal) => tools.unbind(target, signal),

    proveOnDrive: (path, drive) => proveFolderOnMount(path, drive),
  };

  /**
   * The mount that appeared at `mountPoint` since `before` (the ids there before: the kernel
   * gives an unmounted mount's id to the next mount, anywhere), once proved to be the drive's and
   * restricted (nosymfollow, nosuid, nodev, noexec). Found once, right after mounting: from then
   * on the mount id, not the mount's source or the path, is what every proof compares.
   */
  async function adopt(
    filesystem: BlockFilesystem,
    mountPoint: string,
    before: ReadonlySet<number>,
    proves: (entry: MountEntry, filesystem: BlockFilesystem) => Promise<boolean>,
    signal: AbortSignal | undefined,
  ): Promise<DriveMount> {
    const entry = (await readMountinfo())
      .filter((candidate) => candidate.mountPoint === mountPoint && !before.has(candidate.mountId))
      .at(-1);
    if (!entry || !(await proves(entry, filesystem))) {
      throw new AgentError(
        'MOUNT_FAILED',
        entry
          ? `What appeared at ${mountPoint} (${entry.source}, ${entry.fsType}) is not the backup drive ${filesystem.device}.`
          : `mount reported success but ${filesystem.device} is not mounted at ${mountPoint}.`,
        { step: 'drive', hint: 'Nothing was written. Unplug the drive and plug it in again.' },
      );
    }
    // A kernel filesystem takes the flags as mount options (also through systemd-mount, where
    // the agent may not remount); FUSE drivers drop some, so the mount itself is restricted.
    if (!perMountFlags.every((flag) => entry.options.includes(flag)))
      await tools.restrict(mountPoint, signal);
    const restricted = (await readMountinfo()).find(
      (candidate) => candidate.mountId === entry.mountId,
    );
    if (!restricted || !restricted.options.includes('nosymfollow')) {
      throw new AgentError(
        'MOUNT_FAILED',
        `The mount at ${mountPoint} could not be made nosymfollow.`,
        {
          step: 'drive',
          hint: 'The agent needs Linux 5.10 or later; nothing was written.',
        },
      );
    }
    return { ...filesystem, mountId: entry.mountId };
  }
}

async function mountIdsAt(folder: string): Promise<Set<number>> {
  const entries = await readMountinfo();
  return new Set(
    entries.filter((entry) => entry.mountPoint === folder).map((entry) => entry.mountId),
  );
}
