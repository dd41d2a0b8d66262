import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileProblems, pathProblems } from '../files/root-owned.js';

/**
 * Opens the agent's log file for appending, only where root alone decides what it is: a regular
 * file of root's (made 0600 whatever the umask; one left 0644 by an older version is made 0600,
 * as its lines name the library's files), opened without following a symlink, in a folder of
 * root's that no one else can write, under folders no one else can write (see root-owned.ts).
 * Anything else is refused, with the reason, and nothing is created or written there: a log.file
 * in a user's folder (the old default was in a home) would let that user point root's appends at
 * any file, by a symlink or by swapping the folder.
 */
export function openLogFile(file: string): { fd: number } | { refused: string } {
  const refuse = (problems: string[]): { refused: string } => ({
    refused: `not writing the log file ${file}: ${problems.join('; ')}`,
  });
  // Checked before making any folder, so nothing is made under a folder someone else controls,
  // and again once its folder is there (someone may have made it first).
  const before = pathProblems(file);
  if (before.length > 0) return refuse(before);
  let fd: number;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const after = pathProblems(file);
    if (after.length > 0) return refuse(after);
    fd = openSync(
      file,
      constants.O_WRONLY |
        constants.O_APPEND |
        constants.O_CREAT |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK,
      0o600,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return refuse([code === 'ELOOP' ? 'it is a symlink' : (error as Error).message]);
  }
  try {
    const info = fstatSync(fd);
    // Root's own file may have a looser mode (an older version's 0644): it is narrowed below.
    const problems = fileProblems(file, info).filter((problem) => !problem.includes('writable'));
    // A second name for it elsewhere (a hard link) would be a file someone else chose.
    if (info.isFile() && info.nlink !== 1) problems.push(`it has ${info.nlink} names (hard links)`);
    if (problems.length > 0) {
      closeSync(fd);
      return refuse(problems);
    }
    if ((info.mode & 0o7777) !== 0o600) fchmodSync(fd, 0o600);
    return { fd };
  } catch (error) {
    closeSync(fd);
    return refuse([(error as Error).message]);
  }
}
