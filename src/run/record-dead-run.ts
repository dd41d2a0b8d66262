import { hostname } from 'node:os';
import type { AgentConfig } from '../config/load.js';
import type { RunRecord, Trigger } from '../history/record.js';
import type { HistoryStore } from '../history/store.js';
import type { Logger } from '../log/logger.js';
import type { ProgressFile } from './progress.js';

/**
 * A run that was killed (SIGKILL, a power cut) wrote no record; its progress file is what is
 * left of it. Called with the run lock held, so that file cannot belong to a live run: the dead
 * run gets an `interrupted` record saying which step it died in, and `last-run` tells the truth.
 * Returns the record written, or null when there was nothing to record.
 */
export async function recordDeadRun(deps: {
  config: Pick<AgentConfig, 'drives'>;
  history: HistoryStore;
  progress: ProgressFile;
  logger: Logger;
  clock: () => Date;
  agentVersion: string;
}): Promise<RunRecord | null> {
  const dead = await deps.progress.read();
  if (dead === null) return null;
  await deps.progress.clear();
  if (await deps.history.has(dead.runId)) return null;
  const finishedAt = deps.clock();
  const onlyDrive = deps.config.drives.length === 1 ? deps.config.drives[0] : undefined;
  const record: RunRecord = {
    id: dead.runId,
    trigger: dead.trigger as Trigger,
    outcome: 'interrupted',
    reason: 'INTERRUPTED',
    message: `The run died in its ${dead.step} step (killed, or the machine lost power) and could not finish or write its record.`,
    hint: 'Nothing to do by hand: the server was brought back and the next run continues where this one stopped.',
    startedAt: dead.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - Date.parse(dead.startedAt)),
    dryRun: false,
    forced: false,
    drive: onlyDrive
      ? {
          uuid: onlyDrive.uuid,
          mountPoint: null,
          device: null,
          filesystemType: null,
          mountedByAgent: false,
        }
      : null,
    database: null,
    files: null,
    config: null,
    server: null,
    power: { decision: 'not-applicable', reason: 'The run did not finish.' },
    unplug: null,
    verify: null,
    guard: null,
    catchUp: false,
    nextDueAt: null,
    warnings: [],
    errors: [
      {
        code: 'INTERRUPTED',
        step: dead.step,
        message: `Last seen in the ${dead.step} step at ${dead.stepStartedAt} (pid ${dead.pid}).`,
        hint: null,
      },
    ],
    agentVersion: deps.agentVersion,
    hostname: hostname(),
  };
  await deps.history.write(record);
  deps.logger.warn(
    { step: 'recover', staleRunId: dead.runId, deadStep: dead.step },
    `Run ${dead.runId} died in its ${dead.step} step without a record; recorded it as interrupted.`,
  );
  return record;
}
