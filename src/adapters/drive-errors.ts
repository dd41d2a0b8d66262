import { AgentError } from '../errors.js';

/**
 * Errors of writing to the drive get codes and hints of their own, whatever was being written: a
 * full drive (NO_SPACE), a drive that went away (DRIVE_GONE), anything else it refused
 * (DRIVE_WRITE_FAILED). Null only for what is not an error of the file system.
 */
export function driveWriteError(error: unknown, what: string, step: string): AgentError | null {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return new AgentError('NO_SPACE', `The backup drive is full (writing ${what}).`, {
      step,
      hint: 'Free space on the drive or use a bigger one; what was backed up before is untouched.',
      cause: error,
    });
  }
  if (['EIO', 'ENODEV', 'ENXIO', 'EROFS', 'ENOTCONN'].includes(code ?? '')) {
    return new AgentError(
      'DRIVE_GONE',
      `The backup drive stopped accepting writes (${code}) while writing ${what}.`,
      {
        step,
        hint: 'Was it unplugged, or remounted read-only after an error? Check it and run again.',
        cause: error,
      },
    );
  }
  if (typeof code === 'string') {
    // Anything else the drive refused: say what and why, with what to look at.
    return new AgentError(
      'DRIVE_WRITE_FAILED',
      `The backup drive refused to write ${what}: ${(error as Error).message}.`,
      {
        step,
        hint: 'Check the drive (fsck, or on another computer) and that this machine has a working driver for its filesystem; what was backed up before is untouched.',
        cause: error,
      },
    );
  }
  return null;
}
