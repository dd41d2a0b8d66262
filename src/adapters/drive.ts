import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import {
  deviceNumbers,
  findFilesystemsByUuid,
  splitDeviceNumber,
  type BlockFilesystem,
} from './block-devices.js';
import { createMountTools } from './mount-tools.js';
import { readMountinfo, type MountEntry } from './mountinfo.js';
import type { ProcessGateway } from './process.js';

export type { BlockFilesystem } from './block-devices.js';
export type { MountEntry } from './mountinfo.js';

/** Block devices and mounts, from the caller's side: find, mount, unmount, prove. */
export interface DriveAdapter {
  /** systemd-mount makes the mount point itself (and the agent's view of / may be read-only). */
  readonly mountCreatesMountPoint: boolean;
  /** The one filesystem with this UUID; DRIVE_ABSENT or DRIVE_AMBIGUOUS otherwise. */
  locate(uuid: string, signal?: AbortSignal): Promise<BlockFilesystem>;
  /** Where the whole filesystem (root "/") is mounted now, newest mount last. */
  mountsOf(filesystem: BlockFilesystem): Promise<MountEntry[]>;
  /** What is mounted exactly at this folder now, if anything. */
  mountAt(folder: string): Promise<MountEntry | undefined>;
  mount(filesystem: BlockFilesystem, mountPoint: string, signal?: AbortSignal): Promise<void>;
  unmount(mountPoint: string, signal?: AbortSignal): Promise<void>;
  /**
   * Proves that `path` (after following symlinks) lives on `filesystem`; DRIVE_MISMATCH names
   * what it is on instead. The guard in front of every write to the drive.
   */
  proveOnDrive(path: string, filesystem: BlockFilesystem): Promise<void>;
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
        if (entry.root === '/' && (await isMountOf(entry, filesystem))) mounts.push(entry);
      return mounts;
    },

    async mountAt(folder) {
      return (await readMountinfo()).filter((entry) => entry.mountPoint === folder).at(-1);
    },

    mount: (filesystem, mountPoint, signal) => tools.mount(filesystem, mountPoint, signal),

    unmount: (mountPoint, signal) => tools.unmount(mountPoint, signal),

    async proveOnDrive(path, filesystem) {
      let resolved: string;
      let here: { major: number; minor: number };
      try {
        resolved = await realpath(path);
        here = splitDeviceNumber((await stat(resolved, { bigint: true })).dev);
      } catch (error) {
        throw new AgentError(
          'DRIVE_GONE',
          `${path} cannot be reached any more (${(error as Error).message}).`,
          {
            step: 'drive',
            hint: 'The backup drive was probably unplugged; plug it in and run again.',
            cause: error,
          },
        );
      }
      if (here.major === filesystem.major && here.minor === filesystem.minor) return;
      // btrfs and FUSE drivers report an anonymous device number (btrfs even one per
      // subvolume, not the one mountinfo shows): the mount that holds the path must then be
      // one of the drive's.
      const mounts = await readMountinfo();
      const entry =
        mounts.find(
          (candidate) => candidate.major === here.major && candidate.minor === here.minor,
        ) ?? (here.major === 0 ? containingMount(mounts, resolved) : undefined);
      if (entry && (await isMountOf(entry, filesystem))) return;
      const where = entry
        ? `${entry.source} (${entry.fsType}, mounted at ${entry.mountPoint})`
        : 'another filesystem';
      throw new AgentError(
        'DRIVE_MISMATCH',
        `Refusing to write to ${path}${resolved !== path ? ` (which leads to ${resolved})` : ''}: it is on ${where}, not on the backup drive ${filesystem.device} (UUID ${filesystem.uuid}).`,
        { step: 'drive', hint: 'Nothing was written. Check drive.mountPoint and drive.backupDir.' },
      );
    },
  };
}

/**
 * Is this mount the drive's? The same device number, or, where the kernel reports an anonymous
 * one (btrfs, fusefat), the drive's device node as the mount's source. A FUSE mount's source
 * is whatever its maker wrote, so it counts only when root made it (user_id=0).
 */
async function isMountOf(entry: MountEntry, filesystem: BlockFilesystem): Promise<boolean> {
  if (entry.major === filesystem.major && entry.minor === filesystem.minor) return true;
  if (entry.major !== 0) return false;
  if (entry.fsType.startsWith('fuse') && !entry.superOptions.includes('user_id=0')) return false;
  return sameNode(entry.source, filesystem.device);
}

/** The mount a (resolved) path is on: the deepest mount point above it, the last one mounted. */
function containingMount(mounts: readonly MountEntry[], resolved: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const entry of mounts) {
    const inside =
      resolved === entry.mountPoint ||
      resolved.startsWith(
        entry.mountPoint.endsWith('/') ? entry.mountPoint : `${entry.mountPoint}/`,
      );
    if (inside && (!best || entry.mountPoint.length >= best.mountPoint.length)) best = entry;
  }
  return best;
}

async function sameNode(a: string, b: string): Promise<boolean> {
  if (!a.startsWith('/') || !b.startsWith('/')) return false;
  const [left, right] = await Promise.all([deviceNumbers(a), deviceNumbers(b)]);
  return !!left && !!right && left.major === right.major && left.minor === right.minor;
}
