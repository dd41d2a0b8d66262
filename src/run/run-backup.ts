import { systemBusAddress } from '../adapters/dbus.js';
import { holdInhibitor } from '../adapters/inhibitor.js';
import { toAgentError } from '../errors.js';
import type { RunRecord } from '../history/record.js';
import { chooseDrive } from '../session/choose-drive.js';
import type { RunDeps } from '../session/deps.js';
import { readLockOwner, takeRunLock, type HeldLock } from '../session/lock.js';
import { clearYieldRequest, waitForYield } from '../session/lock-yield.js';
import { prepareDrive } from '../session/prepare-drive.js';
import { recoverLeftovers } from '../session/recovery.js';
import { newRunId } from '../session/run-id.js';
import { stateNotes } from '../session/state-notes.js';
import { UndoStack } from '../session/undo-stack.js';
import { stateFolder } from '../layout/state-folder.js';
import { AgentError } from '../errors.js';
import { chosenDrive, enterStep, type RunRequest, type StepContext } from './context.js';
import { ProgressReporter } from './progress-reporter.js';
import { finalRecord, logConclusion, writeRecord, writeRecordToDrive } from './record-run.js';
import { RunState } from './run-state.js';
import { checkDue } from './steps/check-due.js';
import { checkSpaceAndChanges } from './steps/check-space.js';
import { copyAppConfigStep } from './steps/copy-app-config.js';
import { dumpStep } from './steps/dump-database.js';
import { measureSpace } from './steps/measure-space.js';
import { decidePowerStep, powerOffIfDecided } from './steps/power-off.js';
import { preflight } from './steps/preflight.js';
import { readBackStep } from './steps/read-back.js';
import { restoreKitStep } from './steps/restore-kit.js';
import { settleUnplug } from './steps/settle-unplug.js';
import { stopServer } from './steps/stop-server.js';
import { syncStep } from './steps/sync-library.js';
import { verifyAfterBackup } from './steps/verify-after-backup.js';
import { waitForUploads } from './steps/wait-for-uploads.js';

/**
 * The only way a backup happens (CLI, hotplug unit and daemon all call this). It reads like the
 * seed's list: lock → put back what a dead run left → choose the drive → is it due → wait for
 * uploads → back up (backUp, below) → may the drive be unplugged → power → record. Every run
 * leaves exactly one record, whatever happened; a dry run changes nothing at all.
 */
export async function runBackup(request: RunRequest, deps: RunDeps): Promise<RunRecord> {
  const context = startRun(request, deps);
  const { state, log } = context;
  let lock: HeldLock | null = null;
  try {
    lock = await takeLock(context);
    if (!request.dryRun) await recoverLeftovers(deps, log);
    context.driveConfig = await chooseDrive(deps, request, 'oldest-backup');
    if (deps.config.drives.length > 1)
      log.info(
        { step: 'drive', uuid: context.driveConfig.uuid },
        `Backing up to drive "${context.driveConfig.label}" (${context.driveConfig.uuid}).`,
      );
    await checkDue(context);
    await waitForUploads(context);
    if (!request.dryRun)
      await deps.notifier.started({ runId: context.runId, trigger: request.trigger });
    await backUp(context);
    await settleUnplug(context);
  } catch (error) {
    state.fail(toAgentError(error, 'INTERNAL'));
  }
  try {
    await decidePowerStep(context);
    const record = await finalRecord(context);
    await writeRecord(context, record);
    logConclusion(context, record);
    if (!request.dryRun) await deps.notifier.finished(record);
    await powerOffIfDecided(context, record);
    return record;
  } finally {
    if (lock) await context.reporter.finish();
    else deps.liveLine?.clear();
    await lock?.release();
    deps.runScope.leave();
  }
}

/**
 * The steps that touch the drive and the server, as the seed's list has them: hold off sleep →
 * find and prove the drive → will it fit, is the library sane → stop the server → dump the
 * database → mirror the files → copy compose and .env; then the tail, written out in its order:
 * start the server → check the new backup → read back a slice of the originals → the restore
 * kit → has the server stayed up → the record onto the drive → unmount. Each step that changes the world registered its
 * undo as it did; when a step fails, the undo stack puts back what is left, in the same order
 * (the server first).
 */
async function backUp(context: StepContext): Promise<void> {
  const { undo, state, request } = context;
  const settle = async (label: string, action: (() => Promise<void>) | null): Promise<void> => {
    const failure = await undo.runNow(label, action);
    if (failure) state.addCleanupError(failure.error);
  };
  try {
    const releaseInhibitor = await holdOffSleep(context);
    await enterStep(context, 'drive');
    const target = await prepareDrive({
      ...context,
      dryRun: request.dryRun,
      driveConfig: chosenDrive(context),
      onDrive: (drive) => {
        state.drive = drive;
      },
    });
    // On a failure from here on, the drive still gets the record of how the run ended.
    const recordOnDrive = request.dryRun
      ? null
      : undo.push('write the run record to the drive', () => writeRecordToDrive(context, target));
    await enterStep(context, 'space');
    await checkSpaceAndChanges(context, target);
    await enterStep(context, 'preflight');
    const { serverWasRunning } = await preflight(context);
    await enterStep(context, 'stop');
    const server = await stopServer(context, serverWasRunning);
    await enterStep(context, 'dump');
    await dumpStep(context, target);
    // The dump is safe on the drive: with during-dump, Immich runs again while files are copied.
    const restartLabel = `start ${context.config.immich.serverContainer} again`;
    if (context.config.immich.stopServer === 'during-dump')
      await settle(restartLabel, server?.start ?? null);
    await enterStep(context, 'sync');
    await syncStep(context, target);
    await enterStep(context, 'config');
    await copyAppConfigStep(context, target);
    await measureSpace(context, target);

    await settle(restartLabel, server?.start ?? null);
    await settle('verify the new backup', () => verifyAfterBackup(context, target));
    await settle('read back originals against Immich', () => readBackStep(context, target));
    await settle('write the restore kit', () => restoreKitStep(context, target));
    // Not right after the start: that the restarted server still runs, and is the same start of
    // it (a crash, a restart policy's restart), is checked once the checks above have run
    // meanwhile, instead of a fixed wait; before the record, which says how it went.
    await settle(
      `check that ${context.config.immich.serverContainer} stayed up`,
      server?.stayedUp ?? null,
    );
    await settle('write the run record to the drive', recordOnDrive);
    await settle('unmount the backup drive', target.unmount);
    await settle('release the sleep/shutdown inhibitor', releaseInhibitor);
  } catch (error) {
    state.fail(toAgentError(error, 'INTERNAL'));
  } finally {
    for (const failure of await undo.unwind()) state.addCleanupError(failure.error);
  }
}

/** The run's world: its id, state, logger, progress reporter and undo stack. */
function startRun(request: RunRequest, deps: RunDeps): StepContext {
  const startedAt = deps.clock();
  const runId = newRunId(startedAt);
  // Every event of this logger, and of every other one made before, carries the runId.
  deps.runScope.enter(runId);
  const log = deps.logger.child({ trigger: request.trigger });
  log.info(
    { step: 'start' },
    `Starting a ${request.trigger} backup${request.dryRun ? ' as a dry run: nothing will be changed' : ''}.`,
  );
  return {
    ...deps,
    runId,
    request,
    state: new RunState(runId, request.trigger, startedAt, {
      dryRun: request.dryRun,
      forced: request.force,
      catchUp: request.catchUp === true,
      agentVersion: deps.agentVersion,
    }),
    undo: new UndoStack(log),
    log,
    reporter: new ProgressReporter({
      // A dry run writes nothing, not even the progress file.
      file: request.dryRun ? null : stateNotes(deps.config.stateDir).progress,
      log,
      live: deps.liveLine,
      base: {
        runId,
        trigger: request.trigger,
        pid: process.pid,
        startedAt: startedAt.toISOString(),
      },
      clock: deps.clock,
    }),
    // With one drive, the run is for it from the start; with several, once one is chosen.
    driveConfig: deps.config.drives.length === 1 ? (deps.config.drives[0] ?? null) : null,
  };
}

/** logind's sleep:shutdown block inhibitor for the run; returns its release (null: none held). */
async function holdOffSleep(context: StepContext): Promise<(() => Promise<void>) | null> {
  if (context.request.dryRun) return null;
  const inhibitor = await holdInhibitor(context.gateway, {
    busAddress: systemBusAddress(),
    why: 'Backing up Immich to the USB drive',
    logger: context.log,
  });
  return inhibitor
    ? context.undo.push('release the sleep/shutdown inhibitor', () => inhibitor.release())
    : null;
}

/** The run lock; a dry run only looks whether a run holds it (and takes nothing). */
async function takeLock(context: StepContext): Promise<HeldLock | null> {
  const { config, state } = context;
  if (context.request.dryRun) {
    const holder = await readLockOwner(stateFolder(config.stateDir).lockFile);
    if (holder) {
      throw new AgentError(
        'ALREADY_RUNNING',
        `Another backup (run ${holder.runId}, pid ${holder.pid}) is running now.`,
        { step: 'lock', hint: 'A real run would exit 75 and do nothing.' },
      );
    }
    return null;
  }
  const lock = await takeRunLock(
    config.stateDir,
    { runId: context.runId, trigger: state.trigger, startedAt: state.startedAt.toISOString() },
    {
      // A full verification gives way to a backup: ask it to stop, and wait for the lock.
      waitFor: waitForYield(config.stateDir, context.runId, (holder) =>
        context.log.info(
          { step: 'lock', holder: holder.runId },
          `verify --full (pid ${holder.pid}) holds the drive: asked it to stop for this backup, waiting.`,
        ),
      ),
    },
  );
  await clearYieldRequest(config.stateDir);
  return lock;
}
