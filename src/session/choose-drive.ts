import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedDrive } from '../config/load.js';
import { AgentError } from '../errors.js';
import { isInFuture } from '../policy/due.js';
import type { RunDeps } from './deps.js';

/**
 * How to choose among several configured drives (rotation):
 * - `oldest-backup`, for a backup run: of the attached drives, the one whose last successful
 *   backup is oldest, so the drives take turns;
 * - `first-attached`, for verify, restore, backups and prune-versions: the first configured
 *   drive that is attached (they read what is there; any drive of the rotation will do).
 * Either way `--drive UUID` names one, and a run started by a plug-in (the hotplug unit passes
 * `--device`) is for the drive that was plugged in; with one drive, that is the one. The
 * daemon's catch-up at start is a decision about what is due (each drive has its own history):
 * it names the first drive that is due and attached, and the run takes that one as asked.
 */
export type DrivePolicy = 'oldest-backup' | 'first-attached';

/** The one function that chooses the drive, for every command (see DrivePolicy). */
export async function chooseDrive(
  deps: Pick<RunDeps, 'config' | 'drive' | 'history' | 'signal' | 'clock'>,
  asked: { drive?: string; device?: string },
  policy: DrivePolicy,
): Promise<ResolvedDrive> {
  const drives = deps.config.drives;
  if (asked.drive) {
    const wanted = drives.find((drive) => drive.uuid.toLowerCase() === asked.drive?.toLowerCase());
    if (!wanted) {
      throw new AgentError(
        'CONFIG_INVALID',
        `--drive ${asked.drive} is not one of the configured drives (${drives.map((drive) => drive.uuid).join(', ')}).`,
        { step: 'drive' },
      );
    }
    return wanted;
  }
  if (asked.device) return driveOfDevice(deps, asked.device);
  if (drives.length === 1) return drives[0] as ResolvedDrive;
  const attached: ResolvedDrive[] = [];
  for (const drive of drives) {
    if (
      await deps.drive.locate(drive.uuid, deps.signal).then(
        () => true,
        () => false,
      )
    ) {
      if (policy === 'first-attached') return drive;
      attached.push(drive);
    }
  }
  if (attached.length === 0) {
    throw new AgentError(
      'DRIVE_ABSENT',
      `None of the ${drives.length} backup drives (${drives.map((drive) => drive.label).join(', ')}) is attached.`,
      { step: 'drive', hint: 'Plug in one of the backup drives; nothing was changed.' },
    );
  }
  const lastSuccess = async (drive: ResolvedDrive): Promise<number> => {
    const at = Date.parse(
      (await deps.history.latestSuccess(drive.uuid))?.finishedAt ?? '1970-01-01T00:00:00Z',
    );
    // A success recorded in the future is of unknown age: that drive's turn (policy/due.ts).
    return isInFuture(new Date(at), deps.clock()) ? 0 : at;
  };
  const ages = await Promise.all(
    attached.map(async (drive) => ({ drive, at: await lastSuccess(drive) })),
  );
  return ages.sort((a, b) => a.at - b.at)[0]?.drive as ResolvedDrive;
}

/** The configured drive whose filesystem is on this device (/dev/… or a sysfs path). */
async function driveOfDevice(
  deps: Pick<RunDeps, 'config' | 'drive' | 'signal'>,
  device: string,
): Promise<ResolvedDrive> {
  // A sysfs path may come without its leading slash (systemd's %I drops it).
  let node = device.startsWith('sys/') ? `/${device}` : device;
  if (node.startsWith('/sys/')) {
    const uevent = await readFile(path.join(node, 'uevent'), 'utf8').catch(() => '');
    const name = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
    if (!name)
      throw new AgentError('DRIVE_ABSENT', `The device ${node} is gone.`, {
        step: 'drive',
        hint: 'Plug the drive in again.',
      });
    node = name.startsWith('/') ? name : `/dev/${name}`;
  }
  for (const drive of deps.config.drives) {
    const found = await deps.drive.locate(drive.uuid, deps.signal).catch(() => null);
    if (found && found.device === node) return drive;
  }
  throw new AgentError(
    'DRIVE_ABSENT',
    `${node} is not one of the configured backup drives (or was unplugged).`,
    { step: 'drive', hint: 'Nothing was done.' },
  );
}
