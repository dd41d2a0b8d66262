import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { systemBusAddress } from '../adapters/dbus.js';
import { holdInhibitor } from '../adapters/inhibitor.js';
import { AgentError, toAgentError } from '../errors.js';
import type { ResolvedDrive } from '../config/load.js';
import type { RunRecord } from '../history/record.js';
import { setCurrentRun } from '../log/logger.js';
import { enterStep, type RunDeps, type RunRequest, type StepContext } from './context.js';
import { acquireLock, readLockOwner, type HeldLock } from './lock.js';
import { createMountNote } from './notes.js';
import { recoverMount, recoverServer } from './recover.js';
import { createProgressFile } from './progress.js';
import { recordDeadRun } from './record-dead-run.js';
import { finalRecord, logConclusion, writeRecord, writeRecordToDrive } from './record-run.js';
import { ProgressReporter } from './progress-reporter.js';
import { RunState } from './run-state.js';
import { createServerMarker, type ServerMarker } from './server-marker.js';
import { checkDue } from './steps/check-due.js';
import { copyAppConfigStep } from './steps/copy-app-config.js';
import { dumpStep } from './steps/dump-database.js';
import { measureSpace } from './steps/measure-space.js';
import { checkSpaceAndChanges } from './steps/check-space.js';
import { preflight } from './steps/preflight.js';
import { prepareDrive } from './steps/prepare-drive.js';
import { stopServer } from './steps/stop-server.js';
import { decidePowerStep, requestPowerOff } from './steps/power-off.js';
import { settleUnplug } from './steps/settle-unplug.js';
import { selectDrive } from './steps/select-drive.js';
import { syncStep } from './steps/sync-library.js';
import { verifyAfterBackup } from './steps/verify-after-backup.js';
import { waitForUploads } from './steps/wait-for-uploads.js';
import { UndoStack } from './undo-stack.js';
import { removeLeftoverDrills } from '../verify/drill.js';

/**
 * The only way a backup happens (CLI, hotplug unit and daemon all call this). It reads like the
 * seed's list: lock → is it due → find and prove the drive → stop the server → dump the
 * database → mirror the files → copy compose and .env → start the server → record the run.
 * Every run leaves exactly one record, whatever happened; a dry run changes nothing at all.
 */
export async function runBackup(request: RunRequest, deps: RunDeps): Promise<RunRecord> {
  const startedAt = deps.clock();
  const runId = newRunId(startedAt);
  // runId comes from the current run (setCurrentRun), on this logger and every other one.
  setCurrentRun(runId);
  const log = deps.logger.child({ trigger: request.trigger });
  const state = new RunState(runId, request.trigger, startedAt, {
    dryRun: request.dryRun,
    forced: request.force,
    catchUp: request.catchUp === true,
    agentVersion: deps.agentVersion,
  });
  // With one drive, the run is for it from the start; with several, once selectDrive chose.
  if (deps.config.drives.length === 1) state.forDrive = deps.config.drives[0] as ResolvedDrive;
  const reporter = new ProgressReporter({
    // A dry run writes nothing, not even the progress file.
    file: request.dryRun ? null : createProgressFile(deps.config.stateDir),
    log,
    live: deps.liveLine,
    base: { runId, trigger: request.trigger, pid: process.pid, startedAt: startedAt.toISOString() },
    clock: deps.clock,
  });
  const context: StepContext = {
    ...deps,
    runId,
    dryRun: request.dryRun,
    state,
    undo: new UndoStack(log),
    log,
    reporter,
    driveConfig: deps.config.drives[0] as ResolvedDrive,
  };
  const marker = createServerMarker(deps.config.stateDir);
  log.info(
    { step: 'start' },
    `Starting a ${request.trigger} backup${request.dryRun ? ' as a dry run: nothing will be changed' : ''}.`,
  );

  let lock: HeldLock | null = null;
  try {
    lock = await takeLock(context);
    if (!request.dryRun) {
      await recoverServer(deps.docker, marker, log);
      await recoverMount(deps.drive, createMountNote(deps.config.stateDir), log);
      // After the server is back: a record that cannot be written must not keep it down.
      await recordDeadRun({
        ...deps,
        progress: createProgressFile(deps.config.stateDir),
        logger: log,
      });
      await removeLeftoverDrills(deps.docker, deps.config.stateDir, log);
    }
    await selectDrive(context, request);
    await checkDue(context, request);
    await waitForUploads(context, request);
    if (!request.dryRun) await deps.notifier.started({ runId, trigger: request.trigger });
    await backUp(context, marker, request);
    await settleUnplug(context, request);
  } catch (error) {
    state.fail(toAgentError(error, 'INTERNAL'));
  }
  try {
    await decidePowerStep(context, request);
    let record = await finalRecord(context);
    await writeRecord(context, record);
    logConclusion(context, record);
    if (!request.dryRun) await deps.notifier.finished(record);
    if (state.power.decision === 'poweroff') {
      try {
        await requestPowerOff(context);
        log.warn(
          { step: 'power' },
          deps.config.power.delaySeconds > 0
            ? `Asked logind to power the machine off in ${deps.config.power.delaySeconds} s (cancel with: shutdown -c).`
            : 'Asked logind to power the machine off now.',
        );
      } catch (error) {
        state.power = {
          decision: 'stay-on',
          reason: `logind did not power off: ${(error as Error).message}`,
        };
        log.error({ step: 'power', err: error }, `The machine stays on: ${state.power.reason}`);
        record = { ...record, power: state.power };
        await writeRecord(context, record);
      }
    }
    return record;
  } finally {
    if (lock) await reporter.finish();
    else deps.liveLine?.clear();
    await lock?.release();
    setCurrentRun(null);
  }
}

/** The steps that touch the drive and the server, with their undos run in `finally`. */
async function backUp(
  context: StepContext,
  marker: ServerMarker,
  request: RunRequest,
): Promise<void> {
  const { undo, state } = context;
  try {
    if (!context.dryRun) {
      const inhibitor = await holdInhibitor(context.gateway, {
        busAddress: systemBusAddress(),
        why: 'Backing up Immich to the USB drive',
        logger: context.log,
      });
      if (inhibitor) undo.push('release the sleep/shutdown inhibitor', () => inhibitor.release());
    }
    await enterStep(context, 'drive');
    const target = await prepareDrive(context);
    // Registered before the server is stopped, so (last-in-first-out) it runs after the
    // restart and before the unmount: the record on the drive tells how the run ended.
    if (!context.dryRun) {
      undo.push('write the run record to the drive', () => writeRecordToDrive(context, target));
      // Runs before that record is written and after the server is back (last in, first out).
      undo.push('verify the new backup', () => verifyAfterBackup(context, target));
    }
    await enterStep(context, 'space');
    await checkSpaceAndChanges(context, target, request);
    await enterStep(context, 'preflight');
    const { serverWasRunning } = await preflight(context);
    await enterStep(context, 'stop');
    const restartAfterDump = await stopServer(context, marker, serverWasRunning);
    await enterStep(context, 'dump');
    await dumpStep(context, target);
    if (restartAfterDump) {
      // The dump is safe on the drive: Immich may run again while the files are copied.
      await restartAfterDump().catch((error: unknown) =>
        state.addCleanupError(toAgentError(error, 'SERVER_START_FAILED', 'restart')),
      );
    }
    await enterStep(context, 'sync');
    await syncStep(context, target);
    await enterStep(context, 'config');
    await copyAppConfigStep(context, target);
    await measureSpace(context, target);
  } catch (error) {
    state.fail(toAgentError(error, 'INTERNAL'));
  } finally {
    for (const failure of await undo.unwind()) state.addCleanupError(failure.error);
  }
}

async function takeLock(context: StepContext): Promise<HeldLock | null> {
  const { config, state } = context;
  const file = path.join(config.stateDir, 'run.lock');
  if (context.dryRun) {
    const holder = await readLockOwner(file);
    if (holder) {
      throw new AgentError(
        'ALREADY_RUNNING',
        `Another backup (run ${holder.runId}, pid ${holder.pid}) is running now.`,
        {
          step: 'lock',
          hint: 'A real run would exit 75 and do nothing.',
        },
      );
    }
    return null;
  }
  try {
    await mkdir(config.stateDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new AgentError(
      'STATE_UNWRITABLE',
      `Cannot create the state folder ${config.stateDir}: ${(error as Error).message}.`,
      {
        step: 'lock',
        hint: 'Run as root, or set stateDir to a writable folder.',
        cause: error,
      },
    );
  }
  return acquireLock(file, {
    runId: context.runId,
    trigger: state.trigger,
    startedAt: state.startedAt.toISOString(),
  });
}

export function newRunId(startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
