import { statfs } from 'node:fs/promises';
import { findFilesystemsByUuid } from '../adapters/block-devices.js';
import { readMountinfo } from '../adapters/mountinfo.js';
import { driveIdentity, type DriveIdentity } from '../adapters/sysfs-usb.js';
import type { AgentConfig } from '../config/load.js';
import type { RunRecord } from '../history/record.js';
import { isInFuture, isStale, nextDueAt } from '../policy/due.js';
import { readLockOwner } from '../session/lock.js';
import { latestRestore, type RestoreRecord } from '../restore/restore-record.js';
import type { RunDeps } from '../session/deps.js';
import { stateNotes, type RunProgress } from '../session/state-notes.js';
import { stateFolder } from '../layout/state-folder.js';
import { estimateNextBackup, lastCopyOf, type LastCopy } from './status-estimate.js';
import { formatDuration } from '../format.js';
import { readVerification, type Verification } from '../verify/read-back-status.js';

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
  /**
   * The next backup's size, from the records (status never walks the library): what the library
   * grew between the last two backups to this drive, plus a dump like the last one.
   */
  nextBackupBytes: number | null;
  /** What `nextBackupBytes` rests on (status-estimate.ts). */
  nextBackupBasis: 'growth' | 'dump-only' | null;
  /** What the last backup to this drive found in the library and copied, and when. */
  lastCopy: LastCopy | null;
  fits: boolean | null;
  /** What versions/ (replaced copies) took at the last backup. */
  versionsBytes: number | null;
  /** The rolling read-back of its originals (from the state folder; the drive is not read). */
  verification: Verification;
}

/**
 * A record whose finish time is later than now (beyond the skew, policy/due.ts): the clock was
 * wrong when it was written, or is wrong now. Its age cannot be told, so it makes nothing
 * fresh: the backup counts as stale and due until a run records a time that makes sense.
 */
export interface ClockWarning {
  runId: string;
  outcome: RunRecord['outcome'];
  finishedAt: string;
  now: string;
  aheadMs: number;
  message: string;
}

export interface Status {
  health: 'healthy' | 'failed' | 'stale';
  /** The clock looks wrong: a run (the last, or a last success) is recorded in the future. */
  clock: ClockWarning | null;
  running: RunProgress | null;
  lastRun: RunRecord | null;
  lastSuccessAt: string | null;
  nextDueAt: string;
  drives: DriveStatus[];
  /** The newest restore (restores have their own history, stateDir/restores/). */
  lastRestore: RestoreRecord | null;
  /** The read-back of the drive last backed up to (each drive's is in `drives`). */
  verification: Verification;
}

const verificationOfNone: Verification = {
  lastFullCycleAt: null,
  coverage: null,
  mismatches: 0,
  missing: 0,
  names: [],
};

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
  const drives: (DriveStatus & { lastSuccess: RunRecord | null })[] = [];
  // From the records and the drive's statfs only: the library is never walked here.
  for (const drive of config.drives) drives.push(await driveStatus(deps, drive, now));
  return {
    health: lastRun?.outcome === 'failed' ? 'failed' : stale ? 'stale' : 'healthy',
    clock: clockWarning([lastSuccess, lastRun, ...drives.map((drive) => drive.lastSuccess)], now),
    running: owner
      ? progress && progress.runId === owner.runId
        ? progress
        : { ...owner, step: 'starting', stepStartedAt: owner.startedAt }
      : null,
    lastRun,
    lastSuccessAt: lastSuccess?.finishedAt ?? null,
    nextDueAt: nextDueAt(dueInput).toISOString(),
    drives: drives.map(({ lastSuccess: _record, ...drive }) => drive),
    lastRestore,
    verification: (
      drives.find((drive) => drive.uuid === lastSuccess?.drive?.uuid) ??
      drives[0] ?? { verification: verificationOfNone }
    ).verification,
  };
}

async function driveStatus(
  deps: Pick<RunDeps, 'config' | 'history' | 'gateway'>,
  drive: AgentConfig['drives'][number],
  now: Date,
): Promise<DriveStatus & { lastSuccess: RunRecord | null }> {
  const { config, history } = deps;
  const found = await findFilesystemsByUuid(deps.gateway, drive.uuid).catch(() => null);
  const device = found?.[0]?.device ?? null;
  const last = await history.latestSuccess(drive.uuid);
  const estimate = await estimateNextBackup(history, drive.uuid, last);
  const nextBackupBytes = estimate.bytes;
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
    nextBackupBasis: estimate.basis,
    lastCopy: lastCopyOf(last),
    // A margin of a tenth: filesystems need air, and the estimate is only an estimate.
    fits: freeBytes === null || nextBackupBytes === null ? null : freeBytes > nextBackupBytes * 1.1,
    versionsBytes: last?.files?.versionsTotalBytes ?? null,
    verification: await readVerification(config.stateDir, drive.uuid, now),
    lastSuccess: last,
  };
}

/** The first of these records that finished in the future, told as a warning; else null. */
export function clockWarning(records: (RunRecord | null)[], now: Date): ClockWarning | null {
  const ahead = records.find(
    (record) => record !== null && isInFuture(new Date(record.finishedAt), now),
  );
  if (!ahead) return null;
  const aheadMs = Date.parse(ahead.finishedAt) - now.getTime();
  return {
    runId: ahead.id,
    outcome: ahead.outcome,
    finishedAt: ahead.finishedAt,
    now: now.toISOString(),
    aheadMs,
    message: `The clock looks wrong: run ${ahead.id} (${ahead.outcome}) is recorded as finished at ${ahead.finishedAt}, ${formatDuration(aheadMs)} after now (${now.toISOString()}). The clock was ahead when it ran or is behind now; until a run records a sensible time, backups count as stale and due.`,
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
