import { statfs } from 'node:fs/promises';
import { formatBytes } from '../../format.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

/** Free and total space on the drive at the end of the run, for `status` and its estimate. */
export async function measureSpace(context: StepContext, target: PreparedDrive): Promise<void> {
  if (context.request.dryRun || !context.state.drive) return;
  try {
    const info = await statfs(target.root);
    if (info.blocks === 0) return; // the driver does not tell (fusefat)
    context.state.drive.freeBytes = info.bavail * info.bsize;
    context.state.drive.sizeBytes = info.blocks * info.bsize;
    context.log.info(
      { step: 'space', freeBytes: context.state.drive.freeBytes },
      `${formatBytes(context.state.drive.freeBytes)} free of ${formatBytes(context.state.drive.sizeBytes)} on the drive.`,
    );
  } catch (error) {
    context.log.debug(
      { step: 'space', err: error },
      `Could not measure the drive's free space: ${(error as Error).message}`,
    );
  }
}
