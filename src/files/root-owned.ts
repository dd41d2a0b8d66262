import { realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** The sticky bit: in such a folder only an entry's owner (or the folder's) may remove or rename it. */
const stickyBit = 0o1000;

/**
 * What root trusts on its own disk (its configuration, its state folder, its log) must be such
 * that no other user can change it, swap it, or swap anything on the way to it: the thing itself
 * owned by root and not writable by group or others, and every folder above it owned by root and
 * not writable by anyone else. A sticky folder writable by all (/tmp) is allowed on the way, as
 * only root may remove or rename root's entries there (and the entry below it is checked to be
 * root's); the folder that holds the thing itself may not be one.
 */

/** Why this folder may not hold, or lead to, something root trusts; null when it may. */
export function folderProblem(folder: string, info: Stats, holdsTheThing: boolean): string | null {
  if (!info.isDirectory()) return `${folder} is not a folder`;
  if (info.uid !== 0) return `${folder} is owned by uid ${info.uid}, not root`;
  const writers = writableBy(info.mode);
  if (!writers) return null;
  if (!holdsTheThing && (info.mode & stickyBit) !== 0) return null;
  return `${folder} is writable by ${writers} (mode ${modeText(info.mode)})`;
}

/** "its group", "others", both, or '' when only its owner may write. */
export function writableBy(mode: number): string {
  return [mode & 0o020 ? 'its group' : '', mode & 0o002 ? 'others' : '']
    .filter(Boolean)
    .join(' and ');
}

export function modeText(mode: number): string {
  return (mode & 0o777).toString(8);
}

/**
 * The problems of the folders that lead to `target` (a file or folder that need not exist yet):
 * every folder of its path as written and of its real path, since a symlink on the way is only
 * as safe as the folder it is in and the folders it leads to. The nearest existing folder is the
 * one that holds the thing. What does not exist yet is no problem here: whoever makes it checks
 * it afterwards. Synchronous, so the logger can use it before anything asynchronous runs.
 */
export function pathProblems(target: string): string[] {
  const problems = new Set<string>();
  const written = path.dirname(path.resolve(target));
  for (const chain of [ancestors(written), ancestors(realFolder(written))]) {
    let first = true;
    for (const folder of chain) {
      let info: Stats;
      try {
        info = statSync(folder);
      } catch {
        continue; // not there yet
      }
      const problem = folderProblem(folder, info, first);
      first = false;
      if (problem) problems.add(problem);
    }
  }
  return [...problems];
}

/** The folder and each folder above it, nearest first, up to /. */
export function ancestors(folder: string): string[] {
  const chain: string[] = [];
  let current = path.resolve(folder);
  for (;;) {
    chain.push(current);
    const parent = path.dirname(current);
    if (parent === current) return chain;
    current = parent;
  }
}

/** The real path of the nearest existing folder, with what does not exist yet appended. */
function realFolder(folder: string): string {
  const missing: string[] = [];
  let current = folder;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return folder;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** Why a file root trusts (opened without following links) may not be trusted; [] when it may. */
export function fileProblems(file: string, info: Stats): string[] {
  const problems: string[] = [];
  if (!info.isFile()) return [`${file} is not a regular file`];
  if (info.uid !== 0) problems.push(`it is owned by uid ${info.uid}, not root`);
  const writers = writableBy(info.mode);
  if (writers) problems.push(`it is writable by ${writers} (mode ${modeText(info.mode)})`);
  return problems;
}
