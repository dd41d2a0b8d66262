import type { AgentConfig } from '../config/load.js';
import { driveNotUsed, emptyRecord, type RunRecord, type Trigger } from '../history/record.js';
import type { HistoryStore } from '../history/store.js';
import type { Logger } from '../log/logger.js';
import type { Note, RunProgress } from './state-notes.js';

/**
 * A run that was killed (SIGKILL, a power cut) wrote no record; its progress file is what is
 * left of it. Called with the run lock held, so that file cannot belong to a live run: the dead
 * run gets an `interrupted` record saying which step it died in, and `last-run` tells the truth.
 * Returns the record written, or null when there was nothing to record.
 */
export async function recordDeadRun(deps: {
  config: Pick<AgentConfig, 'drives'>;
  history: HistoryStore;
  progress: Note<RunProgress>;
  logger: Logger;
  agentVersion: string;
}): Promise<RunRecord | null> {
  try {
    return await record(deps);
  } catch (error) {
    // A full state disk, say: logged, never in the way of the recovery around it.
    deps.logger.error(
      { step: 'recover', err: error },
      `Could not record the run that died: ${(error as Error).message}`,
    );
    return null;
  }
}

async function record(deps: Parameters<typeof recordDeadRun>[0]): Promise<RunRecord | null> {
  const dead = await deps.progress.read();
  if (dead === null) return null;
  if (await deps.history.has(dead.runId)) {
    await deps.progress.clear();
    return null;
  }
  // When it was last seen alive: the start of the step it died in (not when it was found).
  const finishedAt = new Date(dead.stepStartedAt);
  const onlyDrive = deps.config.drives.length === 1 ? deps.config.drives[0] : undefined;
  const entry: RunRecord = {
    ...emptyRecord({
      id: dead.runId,
      trigger: dead.trigger as Trigger,
      outcome: 'interrupted',
      startedAt: dead.startedAt,
      finishedAt: finishedAt.toISOString(),
      agentVersion: deps.agentVersion,
    }),
    reason: 'INTERRUPTED',
    durationMs: Math.max(0, finishedAt.getTime() - Date.parse(dead.startedAt)),
    message: `The run died in its ${dead.step} step (killed, or the machine lost power) and could not finish or write its record; it was last seen at the start of that step.`,
    hint: 'Nothing to do by hand: the server was brought back and the next run continues where this one stopped.',
    drive: onlyDrive ? driveNotUsed(onlyDrive) : null,
    power: { decision: 'not-applicable', reason: 'The run did not finish.' },
    errors: [
      {
        code: 'INTERRUPTED',
        step: dead.step,
        message: `Last seen in the ${dead.step} step at ${dead.stepStartedAt} (pid ${dead.pid}).`,
        hint: null,
      },
    ],
  };
  await deps.history.write(entry);
  await deps.progress.clear(); // only once the record is safe
  deps.logger.warn(
    { step: 'recover', staleRunId: dead.runId, deadStep: dead.step },
    `Run ${dead.runId} died in its ${dead.step} step without a record; recorded it as interrupted.`,
  );
  return entry;
}
