import type { AgentConfig } from '../config/load.js';
import { toAgentError } from '../errors.js';
import type { HistoryStore } from '../history/store.js';
import type { Logger } from '../log/logger.js';
import { nextDueAt } from '../policy/due.js';
import { backupMetrics, type MetricsInput } from './backup-metrics.js';
import { renderMetrics } from './text-format.js';
import { writeMetricsFile } from './textfile.js';

/** What writing the metrics needs: the keys it reads, the state folder's history, a clock. */
export interface MetricsDeps {
  config: Pick<AgentConfig, 'metrics' | 'schedule' | 'drives'>;
  history: HistoryStore;
  clock: () => Date;
  log: Logger;
}

/**
 * Rewrites `metrics.textfile` from the run records (nothing when it is not set). Called after
 * every run's record is written, whatever its outcome, and when the daemon starts. It never
 * throws: metrics are for watching the backup, and a failure to write them (METRICS_NOT_WRITTEN)
 * is a warning in the log, never the backup's failure. Returns whether the file was written.
 */
export async function updateMetrics(deps: MetricsDeps): Promise<boolean> {
  const file = deps.config.metrics.textfile;
  if (file === null) return false;
  try {
    const text = renderMetrics(backupMetrics(await readMetricsInput(deps)));
    await writeMetricsFile(file, text);
    deps.log.debug({ step: 'metrics', file }, `Wrote the Prometheus metrics to ${file}.`);
    return true;
  } catch (error) {
    const problem = toAgentError(error, 'METRICS_NOT_WRITTEN', 'metrics');
    deps.log.warn(
      { step: 'metrics', code: problem.code, file, err: error },
      `The Prometheus metrics were not written: ${problem.longMessage} Backups are not affected.`,
    );
    return false;
  }
}

/**
 * What the metrics say, from the state folder's history alone (no drive, no library): the last
 * run, the last success, each drive's last success, and when the next backup is due by the
 * policy `status` tells it with (policy/due.ts nextDueAt, from the last success of any drive).
 */
export async function readMetricsInput(deps: Omit<MetricsDeps, 'log'>): Promise<MetricsInput> {
  const { config, history } = deps;
  const now = deps.clock();
  const [lastRun, lastSuccess] = await Promise.all([history.latest(), history.latestSuccess()]);
  const drives = await Promise.all(
    config.drives.map(async (drive) => ({
      uuid: drive.uuid,
      label: drive.label,
      // The newest success of all is its drive's newest too: the history is read once for it.
      lastSuccess:
        lastSuccess?.drive?.uuid.toLowerCase() === drive.uuid.toLowerCase()
          ? lastSuccess
          : await history.latestSuccess(drive.uuid),
    })),
  );
  const lastSuccessAt = lastSuccess ? new Date(lastSuccess.finishedAt) : null;
  const known = lastSuccessAt === null || Number.isFinite(lastSuccessAt.getTime());
  return {
    lastRun,
    lastSuccess,
    drives,
    nextDueAt: known
      ? nextDueAt({
          now,
          lastSuccessAt,
          cron: config.schedule.cron,
          maxAgeDays: config.schedule.maxAgeDays,
        })
      : null,
  };
}
