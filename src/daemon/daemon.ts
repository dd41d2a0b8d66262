import { Cron } from 'croner';
import { isAgentError } from '../errors.js';
import type { RunRecord } from '../history/record.js';
import { updateMetrics } from '../metrics/update-metrics.js';
import { isDue, latestWindow, localTimeZone } from '../policy/due.js';
import type { RunDeps } from '../session/deps.js';
import { recoverWithLock } from '../session/recovery.js';
import { runBackup } from '../run/run-backup.js';
import { EventBus } from './event-bus.js';
import { forgetFutureWindow } from './handled-window.js';

/** How often the daemon looks for a window the scheduler missed (suspend, clock change). */
const missedWindowCheckMs = 60_000;

/**
 * The long-running agent: on start it brings Immich back if a run died with it stopped and
 * catches up a window missed while the machine was off (when the drive is attached); then it
 * keeps the weekly window with croner. Every backup goes through runBackup with the `schedule`
 * trigger (policy, sync window, lock). SIGTERM (the signal) aborts a running backup, whose undos
 * restart the server, and the daemon returns once it has finished.
 */
export async function runDaemon(
  deps: RunDeps,
  bus: EventBus = new EventBus(deps.logger),
): Promise<void> {
  const { config, logger, signal } = deps;
  const log = logger.child({ step: 'daemon' });
  const timezone = localTimeZone();
  const cron = new Cron(config.schedule.cron, { paused: true, timezone });
  log.info(
    { cron: config.schedule.cron, timezone },
    `Daemon started: weekly window "${config.schedule.cron}" (${timezone}), next at ${cron.nextRun()?.toISOString() ?? 'never'}.`,
  );
  bus.on('run-finished', ({ reason, record }) => {
    log.info(
      { outcome: record.outcome, runId: record.id },
      `The ${reason} run ended: ${record.outcome}${record.reason ? ` (${record.reason})` : ''}.`,
    );
  });

  await recoverWithLock(deps).catch((error: unknown) => {
    // Logged by the recovery itself; the daemon keeps running so the schedule still works.
    if (!isAgentError(error)) throw error;
  });
  // The metrics from the history as it stands (a dead run's record included), before any run:
  // a node_exporter started with the machine gets them without waiting for the next backup.
  await updateMetrics({ ...deps, log });

  // A holder, not a plain variable: the closures below set it.
  const running: { current: Promise<RunRecord> | null } = { current: null };
  let lastHandledWindow = 0;
  const startRun = (reason: string, drive?: string): void => {
    if (running.current || signal.aborted) return;
    void bus.emit('run-started', { reason, at: deps.clock() });
    running.current = runBackup(
      {
        trigger: 'schedule',
        force: false,
        dryRun: false,
        catchUp: reason === 'catch-up',
        ...(drive ? { drive } : {}),
      },
      deps,
    )
      .then(async (record) => {
        await bus.emit('run-finished', { reason, record });
        return record;
      })
      .finally(() => {
        running.current = null;
      });
  };
  const onWindow = (reason: string): void => {
    const now = deps.clock();
    lastHandledWindow = forgetFutureWindow(lastHandledWindow, now, log);
    const window = latestWindow({ cron: config.schedule.cron, timezone, now });
    if (window === null || window.getTime() <= lastHandledWindow) return;
    lastHandledWindow = window.getTime();
    startRun(reason);
  };

  // Catch-up: a window passed while the machine was off and no backup has been made since, on
  // a drive that is attached (each drive has its own history: with rotation, one drive's recent
  // backup does not make another one up to date).
  lastHandledWindow =
    latestWindow({ cron: config.schedule.cron, timezone, now: deps.clock() })?.getTime() ?? 0;
  const dueDrives: { uuid: string; reason: string; attached: boolean }[] = [];
  for (const drive of config.drives) {
    const lastSuccess = await deps.history.latestSuccess(drive.uuid);
    const due = isDue({
      now: deps.clock(),
      lastSuccessAt: lastSuccess ? new Date(lastSuccess.finishedAt) : null,
      cron: config.schedule.cron,
      maxAgeDays: config.schedule.maxAgeDays,
      timezone,
    });
    if (!due.due) continue;
    const attached = await deps.drive.locate(drive.uuid, signal).then(
      () => true,
      () => false,
    );
    dueDrives.push({ uuid: drive.uuid, reason: due.reason, attached });
  }
  const ready = dueDrives.find((drive) => drive.attached);
  if (ready) {
    log.info(
      { due: ready.reason, drive: ready.uuid },
      'A backup is due and the drive is attached: catching up now.',
    );
    startRun('catch-up', ready.uuid);
  } else if (dueDrives.length > 0) {
    log.info(
      { due: dueDrives[0]?.reason },
      'A backup is due but the drive is not attached; plugging it in will start it.',
    );
  }

  // protect: a window that comes while a backup still runs is not started twice.
  const job = new Cron(config.schedule.cron, { timezone, protect: true }, () =>
    onWindow('scheduled'),
  );
  const safetyNet = setInterval(() => onWindow('missed-window'), missedWindowCheckMs);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  job.stop();
  clearInterval(safetyNet);
  if (running.current) {
    log.info('Stopping: waiting for the running backup to put things back.');
    await running.current;
  }
  log.info('Daemon stopped.');
}
