import path from 'node:path';
import { createDriveAdapter } from '../adapters/drive.js';
import { createProcessGateway } from '../adapters/process.js';
import { loadConfig, resolveConfigFile, type AgentConfig } from '../config/load.js';
import { isAgentError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { RunRecord } from '../history/record.js';
import { createHistoryStore } from '../history/store.js';
import { createLogger } from '../log/logger.js';
import { isDue, nextDueAt } from '../policy/due.js';
import { readLockOwner } from '../run/lock.js';
import { createProgressFile, type RunProgress } from '../run/progress.js';
import { exitCodes } from './exit-codes.js';
import { localTime } from './summary.js';

/** `status` exits 4 when the last success is older than maxAgeDays (or there never was one). */
const staleExitCode = 4;

export interface Status {
  health: 'healthy' | 'failed' | 'stale';
  running: RunProgress | null;
  lastRun: RunRecord | null;
  lastSuccessAt: string | null;
  nextDueAt: string;
  drive: { uuid: string; present: boolean | null; device: string | null };
}

export async function readStatus(config: AgentConfig, now = new Date()): Promise<Status> {
  const history = createHistoryStore(config.stateDir);
  const [lastRun, lastSuccess, owner, progress] = await Promise.all([
    history.latest(),
    history.latestSuccess(),
    readLockOwner(path.join(config.stateDir, 'run.lock')),
    createProgressFile(config.stateDir).read(),
  ]);
  const dueInput = {
    now,
    lastSuccessAt: lastSuccess ? new Date(lastSuccess.finishedAt) : null,
    cron: config.schedule.cron,
    maxAgeDays: config.schedule.maxAgeDays,
  };
  const due = isDue(dueInput);
  const stale = due.reason === 'STALE' || due.reason === 'NEVER_BACKED_UP';
  const { logger } = createLogger({
    file: null,
    level: 'error',
    pretty: false,
    secrets: [],
    console: process.stderr,
  });
  const drive = createDriveAdapter(createProcessGateway({ logger, secrets: [] }));
  let present: boolean | null = null;
  let device: string | null = null;
  try {
    device = (await drive.locate(config.drive.uuid)).device;
    present = true;
  } catch (error) {
    if (isAgentError(error, 'DRIVE_ABSENT')) present = false;
  }
  return {
    health: lastRun?.outcome === 'failed' ? 'failed' : stale ? 'stale' : 'healthy',
    running:
      owner && progress && progress.runId === owner.runId
        ? progress
        : owner
          ? { ...owner, step: 'starting', stepStartedAt: owner.startedAt }
          : null,
    lastRun,
    lastSuccessAt: lastSuccess?.finishedAt ?? null,
    nextDueAt: nextDueAt(dueInput).toISOString(),
    drive: { uuid: config.drive.uuid, present, device },
  };
}

/** `status [--json]`: exit 0 healthy, 1 the last run failed, 4 the backup is stale. */
export async function statusCommand(
  configFlag: string | undefined,
  json: boolean,
): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const status = await readStatus(config);
  process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`);
  return status.health === 'failed'
    ? exitCodes.failed
    : status.health === 'stale'
      ? staleExitCode
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
    lines.push(
      `  Running now:   run ${status.running.runId} (${status.running.trigger}), step ${status.running.step} since ${localTime(status.running.stepStartedAt)}`,
    );
  }
  if (status.lastRun) {
    const run = status.lastRun;
    lines.push(
      `  Last run:      ${run.outcome}${run.reason ? ` (${run.reason})` : ''}, ${run.trigger}, ${localTime(run.finishedAt)}: ${run.message}`,
    );
    if (run.hint && run.outcome !== 'success') lines.push(`  Next step:     ${run.hint}`);
  } else {
    lines.push('  Last run:      none yet');
  }
  lines.push(
    `  Last success:  ${status.lastSuccessAt ? `${localTime(status.lastSuccessAt)} (${ago(status.lastSuccessAt)})` : 'never'}`,
  );
  lines.push(
    `  Next due:      ${Date.parse(status.nextDueAt) <= now.getTime() ? 'now' : localTime(status.nextDueAt)}`,
  );
  const drive =
    status.drive.present === null
      ? 'unknown (could not probe block devices)'
      : status.drive.present
        ? `attached (${status.drive.device})`
        : 'not attached';
  lines.push(`  Drive:         ${drive}, UUID ${status.drive.uuid}`);
  return lines.join('\n');
}
