import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import type { BlockFilesystem } from './block-devices.js';
import {
  driverHint,
  mountDrivers,
  mountOptions,
  perMountFlags,
  type MountDriver,
} from './filesystem-types.js';
import { readMountinfo } from './mountinfo.js';
import { interpretExit, type ExitCodeTable, type ProcessGateway } from './process.js';

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

/**
 * mount(8) or systemd-mount, and the FUSE drivers that stand in for a kernel driver: mounts a
 * drive with the first driver that works (see mountDrivers), unmounts it.
 */
export function createMountTools(
  gateway: ProcessGateway,
  options: { useSystemdMount: boolean },
): {
  mount(filesystem: BlockFilesystem, mountPoint: string, signal?: AbortSignal): Promise<void>;
  unmount(mountPoint: string, signal?: AbortSignal): Promise<void>;
  restrict(mountPoint: string, signal?: AbortSignal): Promise<void>;
  bind(source: string, target: string, signal?: AbortSignal): Promise<void>;
  unbind(target: string, signal?: AbortSignal): Promise<void>;
} {
  /** The command that mounts with this driver, or null when it cannot be used here. */
  const mountCommand = (
    driver: MountDriver,
    filesystem: BlockFilesystem,
    mountPoint: string,
  ): { file: string; args: string[] } | null => {
    const mountOptionsText = mountOptions(filesystem.fsType).join(',');
    if (driver.kind === 'fusefat') {
      // fusefat refuses options it does not know (nosymfollow): restrict() sets those after.
      const fusefatOptions = mountOptions(filesystem.fsType)
        .filter((option) => !perMountFlags.includes(option))
        .join(',');
      // Its FUSE process must outlive the agent's unit under systemd, which it cannot.
      if (options.useSystemdMount || !/^\/dev\/[\w./-]+$/.test(filesystem.device)) return null;
      return {
        file: 'fusefat',
        args: [
          '-o',
          // rw+: fusefat's read-write mode; fsname: the device as the mount's source, so the
          // mount can be recognised as the drive's (and unmounted) like any other.
          `rw+,${fusefatOptions},fsname=${filesystem.device},subtype=fusefat`,
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

    /**
     * Sets the per-mount flags (nosymfollow, nosuid, nodev, noexec) on a mount, whatever its
     * driver made of the options it was given: exfat-fuse and ntfs-3g drop nosymfollow (and
     * exfat-fuse noexec) silently, fusefat refuses it. A bind remount changes the mount, not
     * the filesystem, and works for every driver. Under systemd it changes the agent's own view
     * of the mount, the one it works through.
     */
    async restrict(mountPoint, signal) {
      const stderr = await runMountTool(
        {
          file: 'mount',
          args: ['-o', `remount,bind,${perMountFlags.join(',')}`, '--', mountPoint],
        },
        signal,
      );
      if (stderr !== null)
        throw refused(`Could not restrict the mount at ${mountPoint}: ${stderr}`);
    },

    /**
     * A bind mount of one mount only (not the mounts under it), then restricted. Always through
     * mount(8), also under systemd: the bind is the agent's private view, which must not reach
     * anyone else's namespace.
     */
    async bind(source, target, signal) {
      const stderr = await runMountTool(
        { file: 'mount', args: ['--bind', '--', source, target] },
        signal,
      );
      if (stderr !== null) throw refused(`Could not bind ${source} to ${target}: ${stderr}`);
    },

    async unbind(target, signal) {
      const stderr = await runMountTool({ file: 'umount', args: ['--', target] }, signal);
      if (stderr !== null) throw refused(`Could not unmount ${target}: ${stderr}`);
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
  };
}

function refused(message: string): AgentError {
  return new AgentError('MOUNT_FAILED', message, {
    step: 'drive',
    hint: 'The agent needs to mount as root (CAP_SYS_ADMIN); nothing was written.',
  });
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
