import { AgentError } from '../errors.js';

/**
 * Errors of the drive itself get their own codes, whatever was being written: a full drive
 * (NO_SPACE) and a drive that went away (DRIVE_GONE). Null for anything else.
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
  if (code === 'EIO' || code === 'ENODEV' || code === 'ENXIO' || code === 'EROFS') {
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
  return null;
}
