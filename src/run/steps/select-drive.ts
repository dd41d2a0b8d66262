import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedDrive } from '../../config/load.js';
import { AgentError } from '../../errors.js';
import type { RunRequest, StepContext } from '../context.js';

/**
 * Which drive this run backs up to. The device that was plugged in (the hotplug unit passes
 * it), or the one asked for with --drive; with a single drive, that one; with several (rotation),
 * the attached one, or of several attached the one whose last backup is oldest.
 */
export async function selectDrive(context: StepContext, request: RunRequest): Promise<void> {
  const { config, log } = context;
  const drives = config.drives;
  if (request.drive) {
    const wanted = drives.find(
      (drive) => drive.uuid.toLowerCase() === request.drive?.toLowerCase(),
    );
    if (!wanted) {
      throw new AgentError(
        'CONFIG_INVALID',
        `--drive ${request.drive} is not one of the configured drives (${drives.map((drive) => drive.uuid).join(', ')}).`,
        { step: 'drive' },
      );
    }
    context.driveConfig = wanted;
  } else if (request.device) {
    context.driveConfig = await driveOfDevice(context, request.device, drives);
  } else if (drives.length > 1) {
    const attached: ResolvedDrive[] = [];
    for (const drive of drives) {
      if (
        await context.drive.locate(drive.uuid, context.signal).then(
          () => true,
          () => false,
        )
      )
        attached.push(drive);
    }
    if (attached.length === 0) {
      throw new AgentError(
        'DRIVE_ABSENT',
        `None of the ${drives.length} backup drives (${drives.map((drive) => drive.label).join(', ')}) is attached.`,
        {
          step: 'drive',
          hint: 'Plug in one of the backup drives; nothing was changed.',
        },
      );
    }
    const lastSuccess = async (drive: ResolvedDrive): Promise<number> =>
      Date.parse(
        (await context.history.latestSuccess(drive.uuid))?.finishedAt ?? '1970-01-01T00:00:00Z',
      );
    const ages = await Promise.all(
      attached.map(async (drive) => ({ drive, at: await lastSuccess(drive) })),
    );
    context.driveConfig = ages.sort((a, b) => a.at - b.at)[0]?.drive as ResolvedDrive;
  } else {
    context.driveConfig = drives[0] as ResolvedDrive;
  }
  context.state.forDrive = context.driveConfig;
  if (drives.length > 1) {
    log.info(
      { step: 'drive', uuid: context.driveConfig.uuid },
      `Backing up to drive "${context.driveConfig.label}" (${context.driveConfig.uuid}).`,
    );
  }
}

/** The configured drive whose filesystem is on this device (/dev/… or a sysfs path). */
async function driveOfDevice(
  context: StepContext,
  device: string,
  drives: ResolvedDrive[],
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
  for (const drive of drives) {
    const found = await context.drive.locate(drive.uuid, context.signal).catch(() => null);
    if (found && found.device === node) return drive;
  }
  throw new AgentError(
    'DRIVE_ABSENT',
    `${node} is not one of the configured backup drives (or was unplugged).`,
    {
      step: 'drive',
      hint: 'Nothing was done.',
    },
  );
}
