import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import {
  deviceNumbers,
  findFilesystemsByUuid,
  splitDeviceNumber,
  type BlockFilesystem,
} from './block-devices.js';
import { readMountinfo, type MountEntry } from './mountinfo.js';
import { interpretExit, type ExitCodeTable, type ProcessGateway } from './process.js';

export type { BlockFilesystem } from './block-devices.js';
export type { MountEntry } from './mountinfo.js';

/** mount(8) and umount(8) share their exit codes. */
const mountExits: ExitCodeTable = {
  0: { outcome: 'ok', meaning: 'success' },
  1: { outcome: 'error', meaning: 'incorrect invocation or permissions' },
  2: { outcome: 'error', meaning: 'system error' },
  4: { outcome: 'error', meaning: 'internal mount bug' },
  8: { outcome: 'error', meaning: 'user interrupt' },
  16: { outcome: 'error', meaning: 'problems writing or locking /etc/mtab' },
  32: { outcome: 'error', meaning: 'mount failure' },
  64: { outcome: 'warning', meaning: 'some mount succeeded' },
};

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
  const mountCommand = (
    filesystem: BlockFilesystem,
    mountPoint: string,
  ): { file: string; args: string[] } =>
    options.useSystemdMount
      ? {
          file: 'systemd-mount',
          args: [
            '--no-ask-password',
            '--collect',
            '--options=nosuid,nodev,noexec',
            '--',
            filesystem.device,
            mountPoint,
          ],
        }
      : // nosuid,nodev,noexec: the drive holds data only; nothing on it should run as root.
        { file: 'mount', args: ['-o', 'nosuid,nodev,noexec', '--', filesystem.device, mountPoint] };
  const unmountCommand = (mountPoint: string): { file: string; args: string[] } =>
    options.useSystemdMount
      ? { file: 'systemd-mount', args: ['--no-ask-password', '--umount', '--', mountPoint] }
      : { file: 'umount', args: ['--', mountPoint] };
  /** Runs mount or umount; null when it worked, else what it said. */
  const runMountTool = async (
    command: { file: string; args: string[] },
    signal: AbortSignal | undefined,
  ): Promise<string | null> => {
    const result = await gateway.run({
      tool: command.file,
      ...command,
      timeoutMs: 120_000,
      signal,
      step: 'drive',
    });
    return interpretExit(mountExits, result.exitCode).outcome === 'error'
      ? result.stderr.trim()
      : null;
  };
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
      return (await readMountinfo()).filter(
        (entry) =>
          entry.major === filesystem.major &&
          entry.minor === filesystem.minor &&
          entry.root === '/',
      );
    },

    async mountAt(folder) {
      return (await readMountinfo()).filter((entry) => entry.mountPoint === folder).at(-1);
    },

    async mount(filesystem, mountPoint, signal) {
      const stderr = await runMountTool(mountCommand(filesystem, mountPoint), signal);
      if (stderr !== null) {
        throw new AgentError(
          'MOUNT_FAILED',
          `Could not mount ${filesystem.device} at ${mountPoint}: ${stderr}`,
          {
            step: 'drive',
            hint: 'Check the drive with fsck, or mount it yourself and run again.',
          },
        );
      }
    },

    async unmount(mountPoint, signal) {
      const stderr = await runMountTool(unmountCommand(mountPoint), signal);
      if (stderr !== null) {
        throw new AgentError('MOUNT_FAILED', `Could not unmount ${mountPoint}: ${stderr}`, {
          step: 'drive',
          hint: 'Something still uses the drive; close it and run `umount` before unplugging.',
        });
      }
    },

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
      // btrfs and some others report an anonymous device number: match the mount's source.
      const entry = (await readMountinfo()).find(
        (candidate) => candidate.major === here.major && candidate.minor === here.minor,
      );
      if (entry && (await sameNode(entry.source, filesystem.device))) return;
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

async function sameNode(a: string, b: string): Promise<boolean> {
  if (!a.startsWith('/') || !b.startsWith('/')) return false;
  const [left, right] = await Promise.all([deviceNumbers(a), deviceNumbers(b)]);
  return !!left && !!right && left.major === right.major && left.minor === right.minor;
}
