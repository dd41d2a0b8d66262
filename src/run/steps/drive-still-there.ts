import { AgentError } from '../../errors.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

/**
 * When a write to the drive fails, the most likely reason is that it went away (unplugged):
 * if the target is no longer on the drive, that is what the run reports, not the I/O error.
 * A run that was told to stop stays `interrupted`: under the hotplug unit an unplug stops the
 * unit (BindsTo=), and the signal, not the missing drive, is what ended it.
 */
export async function assertDriveStillThere(
  context: StepContext,
  target: PreparedDrive,
  error: unknown,
): Promise<void> {
  if (context.signal.aborted) return;
  try {
    await context.drive.proveOnDrive(target.backupDir, target.filesystem);
  } catch {
    throw new AgentError(
      'DRIVE_GONE',
      `The backup drive went away during the run (${(error as Error).message.split('\n')[0]}).`,
      {
        step: (error as AgentError).step,
        hint: 'Was it unplugged? Plug it in again and run again; what was copied is kept and the copy resumes.',
        cause: error,
      },
    );
  }
}
