import { driveWriteError } from '../adapters/drive-errors.js';
import { withSequence, type RunRecord } from '../history/record.js';
import { createHistoryStore } from '../history/store.js';
import path from 'node:path';
import { backupLayout } from '../layout/drive.js';
import { updateMetrics } from '../metrics/update-metrics.js';
import { runsFolder } from '../layout/state-folder.js';
import { ensureFolderOnDrive } from '../session/drive-folders.js';
import type { StepContext } from './context.js';
import { nextDueAfter } from './steps/check-due.js';
import type { PreparedDrive } from '../session/prepare-drive.js';

/** The run's one record: written to stateDir, copied to the drive, and told in the log. */

export async function writeRecord(context: StepContext, record: RunRecord): Promise<void> {
  if (context.request.dryRun) return;
  await context.history.write(record).catch((error: unknown) => {
    context.log.error(
      { step: 'record', err: error },
      `Could not write the run record to ${context.config.stateDir}: ${(error as Error).message}`,
    );
  });
  // Every run that writes its record (refused and skipped ones too) refreshes the metrics from
  // the history, this record now in it. It never throws: a failure is a warning in the log.
  await updateMetrics(context);
}

export async function finalRecord(context: StepContext): Promise<RunRecord> {
  const finishedAt = context.clock();
  const verdict = context.state.verdict();
  const succeeded =
    !context.request.dryRun && (verdict.outcome === 'success' || verdict.outcome === 'warning');
  const nextDue = await nextDueAfter(
    context.history,
    context.config.schedule,
    finishedAt,
    succeeded,
    // Before a drive is chosen (several configured), the first one's, as ever.
    (context.driveConfig ?? context.config.drives[0])?.uuid,
  ).catch(() => null);
  const record = context.state.toRecord(finishedAt, nextDue, context.driveConfig);
  if (context.request.dryRun) return record; // writes nothing, so takes no number either
  // The drive's copy and the state folder's carry one number: the record's place in the history.
  // When it cannot be had (a broken state folder), the write that needs it says so.
  const sequence = await context.history.sequenceFor(context.runId).catch(() => undefined);
  return sequence === undefined ? record : withSequence(record, sequence);
}

export async function writeRecordToDrive(
  context: StepContext,
  target: PreparedDrive,
): Promise<void> {
  // Each folder of the drive's history proven (a planted symlink would lead the write off it).
  const historyDir = backupLayout(target.backupDir).historyDir;
  await ensureFolderOnDrive(
    context.drive,
    target.filesystem,
    target.backupDir,
    path.join(path.relative(target.backupDir, historyDir), runsFolder),
    true,
  );
  // The drive's copy is the record as it stands when the drive is left: before the unplug and
  // power decisions, which happen once it is unmounted (the state folder's copy has them).
  const record = await finalRecord(context);
  await createHistoryStore(historyDir)
    .write(record)
    .catch((error: unknown) => {
      throw driveWriteError(error, 'the run record', 'record', target.backupDir) ?? error;
    });
}

export function logConclusion(context: StepContext, record: RunRecord): void {
  const fields = {
    step: 'finish',
    outcome: record.outcome,
    reason: record.reason,
    durationMs: record.durationMs,
  };
  const text = record.hint ? `${record.message} ${record.hint}` : record.message;
  if (context.request.dryRun) {
    context.log.info(
      fields,
      `Dry run finished (${record.outcome}${record.reason ? `: ${record.reason}` : ''}); nothing was changed.`,
    );
  } else if (record.outcome === 'success' || record.outcome === 'skipped') {
    context.log.info(fields, text);
  } else if (record.outcome === 'warning') {
    context.log.warn(
      { ...fields, warnings: record.warnings },
      `${text} Warnings: ${record.warnings.join('; ')}`,
    );
  } else {
    context.log.error(fields, `Backup ${record.outcome}: ${text}`);
  }
}
