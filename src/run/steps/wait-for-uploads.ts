import { chosenDrive, enterStep, type StepContext } from '../context.js';
import { waitSyncWindow } from '../sync-window.js';

/**
 * Scheduled runs only: the drive must be there (no point waiting 20 minutes for a drive that is
 * not attached: DRIVE_ABSENT at once), then the sync window lets phones finish uploading.
 * A manual or plug-in run means a person is there and wants the backup now.
 */
export async function waitForUploads(context: StepContext): Promise<void> {
  const { request } = context;
  if (request.trigger !== 'schedule') return;
  const { config } = context;
  await enterStep(context, 'sync-window');
  await context.drive.locate(chosenDrive(context).uuid, context.signal);
  if (context.request.dryRun) {
    if (config.schedule.syncWindowSeconds > 0) {
      context.log.info(
        { step: 'sync-window' },
        `Would wait up to ${config.schedule.syncWindowSeconds} s for uploads to finish.`,
      );
    }
    return;
  }
  await waitSyncWindow({
    seconds: config.schedule.syncWindowSeconds,
    mode: config.schedule.syncWindowMode,
    quietSeconds: config.schedule.syncQuietSeconds,
    libraryDir: config.immich.libraryDir,
    signal: context.signal,
    log: context.log,
  });
}
