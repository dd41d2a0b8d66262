import { formatBytes, formatDuration, plural } from '../format.js';
import { escapeControlCharacters } from '../log/text.js';
import type { RunRecord } from '../history/record.js';

/** Local time as people read it: 2026-11-29 02:05:00. */
export function localTime(iso: string): string {
  return new Date(iso).toLocaleString('sv-SE');
}

/** The human summary of a run: when, trigger, outcome, duration, dump, files, drive, next due. */
export function formatRunSummary(record: RunRecord): string {
  const lines: string[] = [];
  const reason = record.reason ? ` (${record.reason})` : '';
  lines.push(
    `Last run: ${record.outcome}${reason}, ${record.trigger} trigger${record.dryRun ? ', dry run' : ''}`,
  );
  lines.push(
    `  When:      ${localTime(record.startedAt)} → ${localTime(record.finishedAt)} (${formatDuration(record.durationMs)})`,
  );
  lines.push(`  What:      ${escapeControlCharacters(record.message)}`);
  if (record.database) {
    lines.push(`  Database:  ${record.database.file}, ${formatBytes(record.database.bytes)}`);
  }
  if (record.files) {
    lines.push(
      `  Files:     ${plural(record.files.transferredFiles, 'file')} copied (${formatBytes(record.files.transferredBytes)}); the library has ${plural(record.files.totalFiles, 'file')} (${formatBytes(record.files.totalBytes)})`,
    );
  }
  if (record.server) {
    const server = record.server;
    const state =
      server.stoppedAt === null
        ? 'not stopped'
        : server.startedAt === null
          ? 'STOPPED and not started again'
          : `down for ${formatDuration(server.downtimeMs)}, running again`;
    lines.push(`  Server:    ${server.container} ${state}`);
  }
  if (record.drive) {
    const drive = record.drive;
    lines.push(
      drive.device === null
        ? `  Drive:     UUID ${drive.uuid}, not used by this run`
        : `  Drive:     ${drive.device}${drive.filesystemType ? ` (${drive.filesystemType})` : ''}${drive.mountPoint ? ` at ${drive.mountPoint}` : ''}, UUID ${drive.uuid}`,
    );
  }
  for (const warning of record.warnings)
    lines.push(`  Warning:   ${escapeControlCharacters(warning)}`);
  if (record.hint) lines.push(`  Next step: ${escapeControlCharacters(record.hint)}`);
  if (record.nextDueAt) lines.push(`  Next due:  ${localTime(record.nextDueAt)}`);
  return lines.join('\n');
}
