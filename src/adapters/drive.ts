import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import {
  deviceNumbers,
  findFilesystemsByUuid,
  splitDeviceNumber,
  type BlockFilesystem,
} from './block-devices.js';
import { driverHint, mountDrivers, mountOptions, type MountDriver } from './filesystem-types.js';
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
  /** The command that mounts with this driver, or null when it cannot be used here. */
  const mountCommand = (
    driver: MountDriver,
    filesystem: BlockFilesystem,
    mountPoint: string,
  ): { file: string; args: string[] } | null => {
    const mountOptionsText = mountOptions(filesystem.fsType).join(',');
    if (driver.kind === 'fusefat') {
      // Its FUSE process must outlive the agent's unit under systemd, which it cannot.
      if (options.useSystemdMount || !/^\/dev\/[\w./-]+$/.test(filesystem.device)) return null;
      return {
        file: 'fusefat',
        args: [
          '-o',
          // rw+: fusefat's read-write mode; fsname: the device as the mount's source, so the
          // mount can be recognised as the drive's (and unmounted) like any other.
          `rw+,${mountOptionsText},fsname=${filesystem.device},subtype=fusefat`,
          filesystem.device,
          mountPoint,
        ],
      };
    }
    const auto = driver.type === 'auto';
    return options.useSystemdMount
      ? {
          file: 'systemd-mount',
          args: [
            '--no-ask-password',
            '--collect',
            ...(auto ? [] : [`--type=${driver.type}`]),
            `--options=${mountOptionsText}`,
            '--',
            filesystem.device,
            mountPoint,
          ],
        }
      : {
          file: 'mount',
          args: [
            ...(auto ? [] : ['-t', driver.type]),
            '-o',
            mountOptionsText,
            '--',
            filesystem.device,
            mountPoint,
          ],
        };
  };
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
      ? result.stderr.trim() || `${command.file} exited with ${result.exitCode}`
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
      const mounts: MountEntry[] = [];
      for (const entry of await readMountinfo())
        if (entry.root === '/' && (await isMountOf(entry, filesystem))) mounts.push(entry);
      return mounts;
    },

    async mountAt(folder) {
      return (await readMountinfo()).filter((entry) => entry.mountPoint === folder).at(-1);
    },

    async mount(filesystem, mountPoint, signal) {
      const failures: string[] = [];
      let noDriver = true;
      for (const driver of mountDrivers(filesystem.fsType)) {
        const command = mountCommand(driver, filesystem, mountPoint);
        if (command === null) continue;
        const stderr = await runMountTool(command, signal).catch((error: unknown) => {
          // A FUSE driver that is not installed is one driver less, not a failure of its own.
          if ((error as AgentError).code === 'TOOL_MISSING' && command.file === 'fusefat')
            return 'unknown filesystem type: fusefat is not installed';
          throw error;
        });
        if (stderr === null && command.file === 'fusefat' && !(await mountedAt(mountPoint)))
          continue; // fusefat says nothing when it did not mount
        if (stderr === null) return;
        failures.push(stderr.split('\n')[0] ?? stderr);
        // systemd-mount does not say why a mount failed: whether a driver is there is looked up.
        const unknownType = options.useSystemdMount
          ? !(await driverInstalled(driver, gateway, signal))
          : /unknown filesystem type|no such device|not found/i.test(stderr);
        noDriver &&= unknownType;
        // A real error (a damaged filesystem) is not hidden behind another driver's attempt;
        // systemd-mount does not say why, so every driver gets its turn there.
        if (!unknownType && !options.useSystemdMount) break;
      }
      throw new AgentError(
        'MOUNT_FAILED',
        `Could not mount ${filesystem.device} (${filesystem.fsType}) at ${mountPoint}: ${failures[0] ?? 'no driver could be used'}`,
        {
          step: 'drive',
          hint: noDriver
            ? driverHint(filesystem.fsType)
            : 'Check the drive with fsck, or mount it yourself and run again.',
          details: { attempts: failures },
        },
      );
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

/**
 * Is there a driver for this type: built into the kernel or loaded (/proc/filesystems), a
 * module modprobe would load, or a mount helper (/sbin/mount.TYPE, FUSE drivers' way)?
 */
async function driverInstalled(
  driver: MountDriver,
  gateway: ProcessGateway,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (driver.kind === 'fusefat')
    return ['/usr/bin', '/bin'].some((folder) => existsSync(`${folder}/fusefat`));
  if (driver.type === 'auto') return true;
  const known = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (known.split('\n').some((line) => line.split('\t').at(-1) === driver.type)) return true;
  if (['/sbin', '/usr/sbin'].some((folder) => existsSync(`${folder}/mount.${driver.type}`)))
    return true;
  const module = await gateway
    .run({
      tool: 'modprobe',
      file: 'modprobe',
      args: ['--dry-run', '--quiet', '--', driver.type],
      timeoutMs: 10_000,
      signal,
      step: 'drive',
    })
    .catch(() => null);
  return module?.exitCode === 0;
}

async function mountedAt(folder: string): Promise<boolean> {
  return (await readMountinfo()).some((entry) => entry.mountPoint === folder);
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
