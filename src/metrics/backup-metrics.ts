import type { Outcome, RunRecord } from '../history/record.js';
import type { MetricFamily } from './text-format.js';

/** Every outcome a run can have: one series each, so a query never meets a missing one. */
export const outcomes = [
  'success',
  'warning',
  'skipped',
  'failed',
  'interrupted',
] as const satisfies readonly Outcome[];
// Fails to compile when an outcome is added to the record but not here.
const everyOutcome: Record<Exclude<Outcome, (typeof outcomes)[number]>, never> = {};
void everyOutcome;

/** What the metrics are made of: records of the state folder's history, and the policy's due. */
export interface MetricsInput {
  /** The newest record of any outcome. */
  lastRun: RunRecord | null;
  /** The newest successful run (success or warning). */
  lastSuccess: RunRecord | null;
  /** Each configured drive with its own newest successful run. */
  drives: { uuid: string; label: string; lastSuccess: RunRecord | null }[];
  /** When the next backup is due (policy/due.ts nextDueAt, as `status` tells it). */
  nextDueAt: Date | null;
}

const seconds = (iso: string | null | undefined): number | null =>
  typeof iso === 'string' ? Date.parse(iso) / 1000 : null;
const perSecond = (ms: number | null | undefined): number | null =>
  typeof ms === 'number' ? ms / 1000 : null;
/** How many a list on record holds (a record of an older version may lack it: unknown). */
const count = (list: readonly unknown[] | null | undefined): number | null =>
  Array.isArray(list) ? list.length : null;

/**
 * The metrics, in base units (seconds, bytes). The last run tells how the last attempt went; the
 * figures of a backup (dump, copy, downtime, read-back) are those of the last successful one, so
 * that a plug-in that was not due (skipped) does not make them vanish from a dashboard. A figure
 * the record does not have is left out, never written as 0.
 */
export function backupMetrics(input: MetricsInput): MetricFamily[] {
  const { lastRun, lastSuccess } = input;
  const lastOutcome = lastRun?.outcome;
  const knownOutcome = outcomes.some((outcome) => outcome === lastOutcome);
  const readBack = lastSuccess?.readBack ?? null;
  return [
    gauge(
      'immich_backup_last_run_timestamp_seconds',
      'When the last backup run finished, whatever its outcome (Unix time).',
      seconds(lastRun?.finishedAt),
    ),
    {
      name: 'immich_backup_last_run_outcome',
      help: 'The outcome of the last backup run: 1 for the outcome it had, 0 for the others.',
      samples: outcomes.map((outcome) => ({
        labels: { outcome },
        value: knownOutcome ? Number(outcome === lastOutcome) : null,
      })),
    },
    gauge(
      'immich_backup_last_run_duration_seconds',
      'How long the last backup run took, whatever its outcome.',
      perSecond(lastRun?.durationMs),
    ),
    gauge(
      'immich_backup_last_success_timestamp_seconds',
      'When the last successful backup (outcome success or warning) finished (Unix time).',
      seconds(lastSuccess?.finishedAt),
    ),
    gauge(
      'immich_backup_dump_bytes',
      'Size of the database dump the last successful backup wrote.',
      lastSuccess?.database?.bytes,
    ),
    gauge(
      'immich_backup_files_copied',
      'Library files the last successful backup copied to the drive.',
      lastSuccess?.files?.transferredFiles,
    ),
    gauge(
      'immich_backup_bytes_copied',
      'Bytes of library files the last successful backup copied to the drive.',
      lastSuccess?.files?.transferredBytes,
    ),
    gauge(
      'immich_backup_server_downtime_seconds',
      'How long the last successful backup kept the Immich server stopped.',
      perSecond(lastSuccess?.server?.downtimeMs),
    ),
    {
      name: 'immich_backup_drive_free_bytes',
      help: 'Free space on each backup drive at the end of its last successful backup.',
      samples: input.drives.map((drive) => ({
        labels: { uuid: drive.uuid, label: drive.label },
        value: drive.lastSuccess?.drive?.freeBytes,
      })),
    },
    gauge(
      'immich_backup_verify_coverage_ratio',
      "Share of the drive's originals re-read against Immich's checksums in the current cycle (0 to 1), after the last successful backup.",
      readBack?.cycleCoverage,
    ),
    gauge(
      'immich_backup_verify_mismatches',
      "Originals on the drive whose checksum was not Immich's in the last successful backup's read-back.",
      count(readBack?.mismatches),
    ),
    gauge(
      'immich_backup_verify_missing',
      "Originals Immich's database references that the drive lacked in the last successful backup's read-back.",
      count(readBack?.missing),
    ),
    gauge(
      'immich_backup_next_due_timestamp_seconds',
      'When the next backup becomes due (the weekly window, or the last success turning stale); at or before the time the file was written when one is due already (Unix time).',
      input.nextDueAt ? input.nextDueAt.getTime() / 1000 : null,
    ),
  ];
}

function gauge(name: string, help: string, value: number | null | undefined): MetricFamily {
  return { name, help, samples: [{ value }] };
}
