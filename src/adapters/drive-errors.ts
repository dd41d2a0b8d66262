import { AgentError, type StepName } from '../errors.js';

/**
 * Errors of writing to the drive get codes and hints of their own, whatever was being written: a
 * full drive (NO_SPACE), a drive that went away (DRIVE_GONE), anything else it refused
 * (DRIVE_WRITE_FAILED). Null only for what is not an error of the file system.
 */
export function driveWriteError(
  error: unknown,
  what: string,
  step: StepName,
  /** The folder on the drive being written: an error about a path elsewhere is not the drive's. */
  driveFolder?: string,
): AgentError | null {
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
  if (isFileSystemError(error, driveFolder)) {
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

/** Errors of a connection (the Docker engine's socket), which carry a syscall too. */
const connectionErrors = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * A system call's error on the drive: it names a system call (not a stream's or zlib's own
 * error, not the Docker connection's), and the path it names, if any, is on the drive.
 */
function isFileSystemError(error: unknown, driveFolder: string | undefined): boolean {
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string' || connectionErrors.has(code))
    return false;
  if (driveFolder === undefined || typeof path !== 'string') return true;
  return path === driveFolder || path.startsWith(`${driveFolder}/`);
}
