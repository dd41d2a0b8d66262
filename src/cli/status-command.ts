import { exitCodes } from '../exit-codes.js';
import { escapeControlCharacters } from '../log/text.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import { openCommand } from './setup.js';
import { readStatus, type Status } from './status-read.js';
import { localTime } from './summary.js';
import { verificationLine } from '../verify/read-back-status.js';

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

/** `status` for a person: the headline, then one line per fact. */
export function formatStatus(status: Status, now = new Date()): string {
  // A time after now is told as such (a clock that was or is wrong), never as "0 ms ago".
  const ago = (iso: string): string => {
    const age = now.getTime() - Date.parse(iso);
    return age >= 0 ? `${formatDuration(age)} ago` : `${formatDuration(-age)} in the future`;
  };
  const headline = {
    healthy: 'healthy',
    failed: 'THE LAST RUN FAILED',
    stale: !status.lastSuccessAt
      ? 'STALE: no backup has ever finished'
      : status.clock?.finishedAt === status.lastSuccessAt
        ? `STALE: the last backup is recorded as finished ${ago(status.lastSuccessAt)}; the clock looks wrong`
        : `STALE: the last backup finished ${ago(status.lastSuccessAt)}`,
  }[status.health];
  const lines = [`Immich backup: ${headline}`];
  if (status.clock) lines.push(`  Clock:         ${status.clock.message}`);
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
    if (drive.lastCopy) {
      const copy = drive.lastCopy;
      lines.push(
        `  ${'Last copy:'.padEnd(15)}${plural(copy.copiedFiles, 'new or changed file')} (${formatBytes(copy.copiedBytes)}) of ${plural(copy.libraryFiles, 'file')} (${formatBytes(copy.libraryBytes)}), ${localTime(copy.at)}`,
      );
    }
    if (drive.freeBytes !== null) {
      // From the records: status does not walk the library (status-estimate.ts).
      const basis =
        drive.nextBackupBasis === 'growth'
          ? ', as much as the library grew between the last two backups, and a dump'
          : drive.nextBackupBasis === 'dump-only'
            ? ': a dump; growth is known after a second backup'
            : '';
      const fits =
        drive.fits === null
          ? ''
          : drive.fits
            ? `; the next backup (about ${formatBytes(drive.nextBackupBytes ?? 0)}${basis}) fits`
            : `; the next backup (about ${formatBytes(drive.nextBackupBytes ?? 0)}${basis}) may NOT fit`;
      const versions = drive.versionsBytes
        ? `; replaced copies in versions/ take ${formatBytes(drive.versionsBytes)}`
        : '';
      lines.push(
        `  ${''.padEnd(15)}${formatBytes(drive.freeBytes)} free ${drive.freeBytesAt === 'now' ? 'now' : 'at the last backup'}${fits}${versions}`,
      );
    }
    lines.push(`  ${'Originals:'.padEnd(15)}${verificationLine(drive.verification)}`);
    const damaged = drive.verification.names;
    if (damaged.length > 0) {
      const shown = damaged
        .slice(0, 3)
        .map((name) => escapeControlCharacters(JSON.stringify(name)));
      lines.push(
        `  ${''.padEnd(15)}damaged or missing: ${shown.join(', ')}${damaged.length > 3 ? ', …' : ''} (verify --full names them all)`,
      );
    }
  }
  return lines.join('\n');
}
