import { formatBytes, formatDuration, plural } from '../format.js';
import { escapeControlCharacters } from '../log/text.js';
import { dumpSource } from '../verify/originals-catalogue.js';
import { verifyOriginals, type FullReadBackReport } from '../verify/full-read-back.js';
import type { NamedList } from '../verify/read-back.js';
import { createProgressBar } from './progress-bar.js';
import { withBackupDrive } from './setup.js';
import { AgentError, isAgentError } from '../errors.js';
import { abortWhenWanted } from '../session/lock-yield.js';

/**
 * `verify --full [--date D] [--json]`: every original on the drive read back against Immich's
 * own checksum from the newest dump (or that day's). Holds the run lock, but gives way to a
 * backup that asks for it (session/lock-yield.ts): then it stops and exits 75. Never stops
 * Immich. A progress bar on stderr on a terminal.
 */
export async function verifyFullReport(
  configFlag: string | undefined,
  date?: string,
): Promise<FullReadBackReport> {
  const bar = process.stderr.isTTY ? createProgressBar(process.stderr) : null;
  try {
    return await withBackupDrive(
      configFlag,
      { lock: true, trigger: 'verify-full', console: bar?.console ?? process.stderr },
      async (session) => {
        // A backup that wants the drive meanwhile comes first: this read stops and says so.
        const wanted = await abortWhenWanted(session.config.stateDir);
        const signal = AbortSignal.any([session.deps.signal, wanted.signal]);
        try {
          const report = await readEveryOriginal(session, signal, date, bar);
          if (wanted.signal.aborted) throw gaveWay(report);
          return report;
        } catch (error) {
          if (wanted.signal.aborted && !isAgentError(error, 'ALREADY_RUNNING')) throw gaveWay(null);
          throw error;
        } finally {
          wanted.stop();
        }
      },
    );
  } finally {
    bar?.clear();
  }
}

function gaveWay(report: FullReadBackReport | null): AgentError {
  const far = report
    ? ` after ${plural(report.originals.checked, 'original')}`
    : ' before reading the originals';
  return new AgentError(
    'ALREADY_RUNNING',
    `verify --full stopped${far}: a backup needed the drive, and backups come first.`,
    { step: 'verify', hint: 'Run verify --full again once the backup is done.' },
  );
}

type Session = Parameters<Parameters<typeof withBackupDrive>[2]>[0];

async function readEveryOriginal(
  session: Session,
  signal: AbortSignal,
  date: string | undefined,
  bar: ReturnType<typeof createProgressBar> | null,
): Promise<FullReadBackReport> {
  // What the drive refused at the last backup to it is named, not counted missing.
  const last = await session.deps.history.latestUsing(session.target.filesystem.uuid);
  return verifyOriginals(
    {
      backupDir: session.target.backupDir,
      filesDir: session.target.filesDir,
      filesystemType: session.target.filesystemType,
      uuid: session.target.filesystem.uuid,
    },
    {
      date,
      dumpSource: (dumpFile) => dumpSource(dumpFile, session.config.immich.databaseName, signal),
      uploadMounts: session.config.immich.uploadMounts,
      notStored: last?.files?.notStored?.names,
      signal,
      onProgress: bar ? (progress) => bar.update(progress) : undefined,
      now: session.deps.clock,
      stateDir: session.config.stateDir,
      log: session.logger,
    },
  );
}

const listed = (label: string, list: NamedList): string[] => {
  if (list.count === 0) return [];
  const shown = list.names.map((name) => `      ${escapeControlCharacters(name)}`);
  const more =
    list.count > list.names.length ? [`      … and ${list.count - list.names.length} more`] : [];
  return [`    ${label}: ${list.count}`, ...shown, ...more];
};

export function formatFullReport(report: FullReadBackReport): string {
  const { originals, outside, referenced } = report;
  const problems =
    originals.mismatches.count +
    originals.missing.count +
    originals.notFollowed.count +
    originals.unreadable.count;
  const verdict = report.interrupted
    ? 'INTERRUPTED (not every original was read)'
    : report.ok
      ? 'GOOD: every original matches Immich’s checksum'
      : `${problems} DAMAGED OR MISSING ORIGINAL${problems === 1 ? '' : 'S'}`;
  const lines = [
    `Originals on the drive against ${report.dump}: ${verdict}`,
    `  Read back ${plural(originals.checked, 'original')} (${formatBytes(originals.bytes)}) in ${formatDuration(originals.durationMs)}, ${formatBytes(originals.bytesPerSecond)}/s` +
      (originals.trashed > 0 ? `; ${originals.trashed} of them in Immich's trash` : ''),
    ...listed('PROBLEM checksum mismatch', originals.mismatches),
    ...listed('PROBLEM missing from the drive', originals.missing),
    ...listed('PROBLEM not a regular file (not followed)', originals.notFollowed),
    ...listed('PROBLEM unreadable', originals.unreadable),
    ...listed('not storable on this drive (named by the backup)', originals.notStorable),
  ];
  if (originals.notCheckable > 0)
    lines.push(
      `  ${plural(originals.notCheckable, 'original')} without a content checksum in Immich (not checkable).`,
    );
  lines.push(
    outside.count === 0
      ? '  No originals outside the backup.'
      : `  ${plural(outside.count, 'original')} outside the backup's reach (external libraries): ${outside.folders.map((folder) => JSON.stringify(folder)).join(', ')}`,
  );
  lines.push(
    `  Other files: ${referenced.present} sidecars, profile images and person thumbnails present; ${referenced.regenerable} thumbnails, previews and encoded videos (Immich makes them again) not checked`,
    ...listed('missing from the drive', referenced.missing),
    ...listed('not a regular file (not followed)', referenced.notFollowed),
  );
  return lines.join('\n');
}
