import { AgentError } from '../../errors.js';
import type { HistoryStore } from '../../history/store.js';
import { isDue, nextDueAt } from '../../policy/due.js';
import { chosenDrive, type StepContext } from '../context.js';

/**
 * A plug-in or scheduled run goes ahead only when a backup is due (or with --force); a manual
 * run always does. Not due is a skip, not an error: it exits 0 and touches nothing.
 */
export async function checkDue(context: StepContext): Promise<void> {
  const { request } = context;
  if (request.trigger === 'manual') return;
  if (request.force) {
    context.log.info({ step: 'policy' }, 'Forced: running whether or not a backup is due.');
    return;
  }
  const { schedule } = context.config;
  // Each drive has its own due state: with two drives in rotation, each is backed up in turn.
  const last = await context.history.latestSuccess(chosenDrive(context).uuid);
  const input = {
    now: context.clock(),
    lastSuccessAt: last ? new Date(last.finishedAt) : null,
    cron: schedule.cron,
    maxAgeDays: schedule.maxAgeDays,
  };
  const verdict = isDue(input);
  if (!verdict.due) {
    throw new AgentError(
      'NOT_DUE',
      `No backup is due: the last one finished ${last?.finishedAt ?? 'never'}; the next is due ${nextDueAt(input).toISOString()}.`,
      { step: 'policy', hint: 'Use --force to run anyway.' },
    );
  }
  if (verdict.reason === 'SUCCESS_IN_FUTURE') {
    context.log.warn(
      {
        step: 'policy',
        due: verdict.reason,
        lastRunId: last?.id,
        lastFinishedAt: last?.finishedAt,
      },
      `A backup is due: the last success (run ${last?.id}) is recorded as finished ${last?.finishedAt}, after now (${input.now.toISOString()}). The clock was wrong then or is wrong now, so how old that backup is cannot be told; backing up rather than trusting it.`,
    );
    return;
  }
  const why = {
    NEVER_BACKED_UP: 'there has never been a successful backup',
    WINDOW_DUE: 'no backup has finished since the last weekly window',
    STALE: `the last backup is older than ${schedule.maxAgeDays} days`,
    NOT_DUE: '',
  }[verdict.reason];
  context.log.info({ step: 'policy', due: verdict.reason }, `A backup is due: ${why}.`);
}

/** When the next backup is due, given how this run ended. */
export async function nextDueAfter(
  history: HistoryStore,
  schedule: { cron: string; maxAgeDays: number },
  now: Date,
  thisRunSucceeded: boolean,
  driveUuid?: string,
): Promise<Date> {
  const lastSuccessAt = thisRunSucceeded
    ? now
    : await history
        .latestSuccess(driveUuid)
        .then((record) => (record ? new Date(record.finishedAt) : null));
  return nextDueAt({ now, lastSuccessAt, cron: schedule.cron, maxAgeDays: schedule.maxAgeDays });
}
