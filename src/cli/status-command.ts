import { statfs } from 'node:fs/promises';
import { escapeControlCharacters } from '../log/text.js';
import { findFilesystemsByUuid } from '../adapters/block-devices.js';
import { readMountinfo } from '../adapters/mountinfo.js';
import { driveIdentity, type DriveIdentity } from '../adapters/sysfs-usb.js';
import type { AgentConfig } from '../config/load.js';
import { formatBytes, formatDuration } from '../format.js';
import type { RunRecord } from '../history/record.js';
import { isStale, nextDueAt } from '../policy/due.js';
import { readLockOwner } from '../session/lock.js';
import { latestRestore, type RestoreRecord } from '../restore/restore-record.js';
import type { RunDeps } from '../session/deps.js';
import { stateNotes, type RunProgress } from '../session/state-notes.js';
import { stateFolder } from '../layout/state-folder.js';
import { openCommand } from './setup.js';
import { folderSize } from '../files/folder-size.js';
import { exitCodes } from '../exit-codes.js';
import { localTime } from './summary.js';

export interface DriveStatus {
  uuid: string;
  label: string;
  present: boolean | null;
  device: string | null;
  identity: DriveIdentity | null;
  lastSuccessAt: string | null;
  nextDueAt: string;
  /** Free space on the drive: now when it is mounted, else at the end of its last success. */
  freeBytes: number | null;
  freeBytesAt: 'now' | 'last-backup' | null;
  /** The next backup's size: what the library grew since the last success, plus a dump. */
  nextBackupBytes: number | null;
  fits: boolean | null;
  /** What versions/ (replaced copies) took at the last backup. */
  versionsBytes: number | null;
}

export interface Status {
  health: 'healthy' | 'failed' | 'stale';
  running: RunProgress | null;
  lastRun: RunRecord | null;
  lastSuccessAt: string | null;
  nextDueAt: string;
  drives: DriveStatus[];
  /** The newest restore (restores have their own history, stateDir/restores/). */
  lastRestore: RestoreRecord | null;
}

export async function readStatus(
  deps: Pick<RunDeps, 'config' | 'history' | 'gateway'>,
  now = new Date(),
): Promise<Status> {
  const { config, history } = deps;
  const [lastRun, lastSuccess, owner, progress, lastRestore] = await Promise.all([
    history.latest(),
    history.latestSuccess(),
    readLockOwner(stateFolder(config.stateDir).lockFile),
    stateNotes(config.stateDir).progress.read(),
    latestRestore(config.stateDir),
  ]);
  const dueInput = {
    now,
    lastSuccessAt: lastSuccess ? new Date(lastSuccess.finishedAt) : null,
    cron: config.schedule.cron,
    maxAgeDays: config.schedule.maxAgeDays,
  };
  const stale = isStale(dueInput);
  const drives: DriveStatus[] = [];
  // The library as it is now, walked once for every drive's estimate (null: unreadable).
  const libraryNow = await folderSize(config.immich.libraryDir, { strict: true }).catch(() => null);
  for (const drive of config.drives) drives.push(await driveStatus(deps, drive, now, libraryNow));
  return {
    health: lastRun?.outcome === 'failed' ? 'failed' : stale ? 'stale' : 'healthy',
    running: owner
      ? progress && progress.runId === owner.runId
        ? progress
        : { ...owner, step: 'starting', stepStartedAt: owner.startedAt }
      : null,
    lastRun,
    lastSuccessAt: lastSuccess?.finishedAt ?? null,
    nextDueAt: nextDueAt(dueInput).toISOString(),
    drives,
    lastRestore,
  };
}

async function driveStatus(
  deps: Pick<RunDeps, 'config' | 'history' | 'gateway'>,
  drive: AgentConfig['drives'][number],
  now: Date,
  libraryNow: { bytes: number } | null,
): Promise<DriveStatus> {
  const { config, history } = deps;
  const found = await findFilesystemsByUuid(deps.gateway, drive.uuid).catch(() => null);
  const device = found?.[0]?.device ?? null;
  const last = await history.latestSuccess(drive.uuid);
  // Growth since the last success: the library now against what it held then.
  const growth =
    last?.files && libraryNow
      ? Math.max(0, libraryNow.bytes - last.files.totalBytes)
      : (last?.files?.transferredBytes ?? null);
  const nextBackupBytes = growth === null ? null : growth + (last?.database?.bytes ?? 0);
  const freeNow = device ? await freeSpaceIfMounted(device) : null;
  const freeBytes = freeNow ?? last?.drive?.freeBytes ?? null;
  return {
    uuid: drive.uuid,
    label: drive.label,
    present: found === null ? null : device !== null,
    device,
    identity: device ? await driveIdentity(device) : null,
    lastSuccessAt: last?.finishedAt ?? null,
    nextDueAt: nextDueAt({
      now,
      lastSuccessAt: last ? new Date(last.finishedAt) : null,
      cron: config.schedule.cron,
      maxAgeDays: config.schedule.maxAgeDays,
    }).toISOString(),
    freeBytes,
    freeBytesAt: freeNow !== null ? 'now' : freeBytes !== null ? 'last-backup' : null,
    nextBackupBytes,
    // A margin of a tenth: filesystems need air, and the estimate is only an estimate.
    fits: freeBytes === null || nextBackupBytes === null ? null : freeBytes > nextBackupBytes * 1.1,
    versionsBytes: last?.files?.versionsTotalBytes ?? null,
  };
}

/** Free bytes on the drive's filesystem when it is mounted somewhere now, else null. */
async function freeSpaceIfMounted(device: string): Promise<number | null> {
  const mounted = (await readMountinfo().catch(() => [])).find(
    (entry) => entry.source === device && entry.root === '/',
  );
  if (!mounted) return null;
  const info = await statfs(mounted.mountPoint).catch(() => null);
  return info && info.blocks > 0 ? info.bavail * info.bsize : null;
}

/** `status [--json]`: exit 0 healthy, 1 the last run failed, 4 the backup is stale. */
export async function statusCommand(
  configFlag: string | undefined,
  json: boolean,
): Promise<number> {
  // Read-only: no log file, errors only on stderr (stdout is the answer).
  const command = await openCommand(configFlag, {
    writeFile: false,
    console: process.stderr,
    signals: false,
    quiet: true,
  });
  const status = await readStatus(command.deps);
  process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`);
  return status.health === 'failed'
    ? exitCodes.failed
    : status.health === 'stale'
      ? exitCodes.stale
      : exitCodes.ok;
}

export function formatStatus(status: Status, now = new Date()): string {
  const ago = (iso: string): string => `${formatDuration(now.getTime() - Date.parse(iso))} ago`;
  const headline = {
    healthy: 'healthy',
    failed: 'THE LAST RUN FAILED',
    stale: status.lastSuccessAt
      ? `STALE: the last backup finished ${ago(status.lastSuccessAt)}`
      : 'STALE: no backup has ever finished',
  }[status.health];
  const lines = [`Immich backup: ${headline}`];
  if (status.running) {
    const detail = status.running.detail ? ` (${status.running.detail})` : '';
    lines.push(
      `  Running now:   ${status.running.step}${detail} since ${localTime(status.running.stepStartedAt)}, run ${status.running.runId} (${status.running.trigger})`,
    );
  }
  lines.push(
    `  Last success:  ${status.lastSuccessAt ? `${localTime(status.lastSuccessAt)} (${ago(status.lastSuccessAt)})` : 'never'}`,
  );
  lines.push(
    `  Next due:      ${Date.parse(status.nextDueAt) <= now.getTime() ? 'now' : localTime(status.nextDueAt)}`,
  );
  if (status.lastRun) {
    const run = status.lastRun;
    lines.push(
      `  Last run:      ${run.outcome}${run.reason ? ` (${run.reason})` : ''}, ${run.trigger}, ${localTime(run.finishedAt)}: ${escapeControlCharacters(run.message)}`,
    );
    if (run.hint && run.outcome !== 'success')
      lines.push(`  Next step:     ${escapeControlCharacters(run.hint)}`);
  }
  if (status.lastRestore) {
    const restore = status.lastRestore;
    lines.push(
      `  Last restore:  ${restore.outcome}${restore.reason ? ` (${restore.reason})` : ''}, ${localTime(restore.finishedAt)}: ${escapeControlCharacters(restore.message)}`,
    );
  }
  for (const drive of status.drives) {
    const name =
      status.drives.length > 1 ? `Drive ${drive.label}:`.padEnd(15) : 'Drive:'.padEnd(15);
    const presence =
      drive.present === null
        ? 'unknown (could not probe block devices)'
        : drive.present
          ? `attached (${drive.device})`
          : 'not attached';
    const hardware = drive.identity?.usb
      ? `, ${[drive.identity.vendor, drive.identity.model].filter(Boolean).join(' ')} at ${drive.identity.speedMbps} Mb/s`
      : '';
    lines.push(`  ${name}${presence}${hardware}, UUID ${drive.uuid}`);
    if (status.drives.length > 1) {
      lines.push(
        `    last success ${drive.lastSuccessAt ? `${localTime(drive.lastSuccessAt)} (${ago(drive.lastSuccessAt)})` : 'never'}, next due ${localTime(drive.nextDueAt)}`,
      );
    }
    if (drive.freeBytes !== null) {
      const fits =
        drive.fits === null
          ? ''
          : drive.fits
            ? `; the next backup (about ${formatBytes(drive.nextBackupBytes ?? 0)}) fits`
            : `; the next backup (about ${formatBytes(drive.nextBackupBytes ?? 0)}) may NOT fit`;
      const versions = drive.versionsBytes
        ? `; replaced copies in versions/ take ${formatBytes(drive.versionsBytes)}`
        : '';
      lines.push(
        `  ${''.padEnd(15)}${formatBytes(drive.freeBytes)} free ${drive.freeBytesAt === 'now' ? 'now' : 'at the last backup'}${fits}${versions}`,
      );
    }
  }
  return lines.join('\n');
}
