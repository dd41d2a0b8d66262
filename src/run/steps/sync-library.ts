import { syncLibrary } from '../../adapters/rsync.js';
import { AgentError, isAgentError } from '../../errors.js';
import { spaceNeeded } from './check-space.js';
import { assertDriveStillThere } from './drive-still-there.js';
import { usbSpeedWarning } from '../../adapters/sysfs-usb.js';
import { formatBytes, formatDuration, plural } from '../../format.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from './prepare-drive.js';

/** A first copy of a large library over USB 2 can take a day; a hung copy is still caught. */
const syncTimeoutMs = 72 * 60 * 60 * 1000;

/** Mirrors the library into `files/`: only what is new or changed, never deleting. */
export async function syncStep(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, gateway, log, state } = context;
  const source = config.immich.libraryDir;
  if (context.dryRun && !target.mounted) {
    log.info({ step: 'sync' }, `Would copy what is new in ${source} to ${target.filesDir}.`);
    return;
  }
  if (!context.dryRun) await context.drive.proveOnDrive(target.filesDir, target.filesystem);
  log.info(
    { step: 'sync' },
    `${context.dryRun ? 'Measuring what would be copied' : 'Copying new and changed files'} from ${source} to ${target.filesDir}.`,
  );
  const started = Date.now();
  let result: Awaited<ReturnType<typeof syncLibrary>>;
  try {
    result = await syncLibrary(
      gateway,
      {
        source,
        destination: target.filesDir,
        filesystemType: target.filesystemType,
        signal: context.signal,
        timeoutMs: syncTimeoutMs,
        resumable: await worthResuming(context),
        onProgress: (progress) => context.reporter.update(progress),
      },
      context.dryRun,
    );
  } catch (error) {
    if (!context.dryRun) await assertDriveStillThere(context, target, error);
    throw isAgentError(error, 'NO_SPACE') && !context.dryRun
      ? await withMissingSpace(context, target, error)
      : error;
  }
  // The drive may have gone while rsync wrote into a lazily unmounted filesystem.
  if (!context.dryRun) await context.drive.proveOnDrive(target.filesDir, target.filesystem);
  const durationMs = Date.now() - started;
  state.files = {
    transferredFiles: result.transferredFiles,
    transferredBytes: result.transferredBytes,
    totalFiles: result.totalFiles,
    totalBytes: result.totalBytes,
    durationMs,
  };
  const slowLink = state.drive?.identity
    ? usbSpeedWarning(state.drive.identity, result.totalBytes)
    : null;
  if (slowLink && !context.dryRun) result.warnings.push(slowLink);
  for (const warning of result.warnings) {
    state.warn(warning);
    log.warn({ step: 'sync' }, warning);
  }
  log.info(
    { step: 'sync', ...state.files },
    `${context.dryRun ? 'Would copy' : 'Copied'} ${plural(result.transferredFiles, 'new or changed file')} (${formatBytes(result.transferredBytes)}) in ${formatDuration(durationMs)}; the library has ${plural(result.totalFiles, 'file')} (${formatBytes(result.totalBytes)}).`,
  );
}

/** The drive filled up during the copy: say how much was still missing (bytes, or inodes). */
async function withMissingSpace(
  context: StepContext,
  target: PreparedDrive,
  error: AgentError,
): Promise<AgentError> {
  try {
    const { newData, newFiles, free, freeInodes } = await spaceNeeded(context, target);
    const shortage =
      newData > free
        ? `${formatBytes(newData - free)} missing`
        : freeInodes === 0
          ? 'no inodes left: the filesystem can hold no more files'
          : 'the rest went to filesystem overhead';
    return new AgentError(
      'NO_SPACE',
      `The backup drive filled up during the copy: ${plural(newFiles, 'file')} (${formatBytes(newData)}) were still to copy, ${formatBytes(free)} free (${shortage}).`,
      {
        step: 'sync',
        hint: error.hint,
        cause: error,
        details: {
          stillToCopyBytes: newData,
          stillToCopyFiles: newFiles,
          freeBytes: free,
          freeInodes,
        },
      },
    );
  } catch {
    return error;
  }
}

/** Bigger copies than this keep interrupted files to resume them (see SyncRequest.resumable). */
const resumableFromBytes = 256 * 1024 * 1024;

/**
 * Keep interrupted files for the next run when there is a lot to copy, or when the last run to
 * this drive did not finish (its kept files are then picked up and cleaned away).
 */
async function worthResuming(context: StepContext): Promise<boolean> {
  if (context.state.plannedNewBytes === null || context.state.plannedNewBytes > resumableFromBytes)
    return true;
  const last = await context.history.latest();
  const finished =
    last?.outcome === 'success' || last?.outcome === 'warning' || last?.outcome === 'skipped';
  return !(finished && last?.drive?.uuid === context.driveConfig.uuid);
}
