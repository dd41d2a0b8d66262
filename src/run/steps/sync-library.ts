import { syncLibrary } from '../../adapters/rsync.js';
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
  const result = await syncLibrary(
    gateway,
    {
      source,
      destination: target.filesDir,
      filesystemType: target.filesystemType,
      signal: context.signal,
      timeoutMs: syncTimeoutMs,
      onProgress: (progress) => context.reporter.update(progress),
    },
    context.dryRun,
  );
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
