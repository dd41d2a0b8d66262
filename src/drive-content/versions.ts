import type { Stats } from 'node:fs';
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { backupLayout, filesFolder, versionsFolder } from '../layout/drive.js';
import { AgentError } from '../errors.js';

/**
 * versions/<YYYY-MM-DD[Thh-mm-ss]>/<path>: the copy a run replaced in files/ on that day. Such a
 * copy was the current one until that day; files/ has the newest of everything.
 */
async function versionFolders(backupDir: string): Promise<string[]> {
  const versionsDir = backupLayout(backupDir).versionsDir;
  // Real folders only: a symlink planted on the drive would lead a prune, or a restore, off it.
  if (!(await isRealFolder(versionsDir))) return [];
  return (await readdir(versionsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && /^\d{4}-\d\d-\d\d/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

async function isRealFolder(folder: string): Promise<boolean> {
  return (await lstat(folder).catch(() => null))?.isDirectory() === true;
}

/**
 * The file or folder at `relative` under `root`, reached without following a symlink on the
 * way (each folder on the path is looked at as it is); else why not, and at which entry (null
 * when it is simply not there).
 */
async function reachedWithoutLinks(
  root: string,
  relative: string,
): Promise<{ info: Stats } | { why: string; at: string | null }> {
  let current = root;
  let info = await lstat(current).catch(() => null);
  if (!info?.isDirectory()) return { why: 'is not there', at: null };
  const parts = relative.split('/').filter(Boolean);
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    info = await lstat(current).catch(() => null);
    const at = parts.slice(0, index + 1).join('/');
    if (info === null) return { why: 'is not there', at: null };
    if (info.isSymbolicLink()) return { why: 'is a symlink', at };
    if (!info.isDirectory() && !(index === parts.length - 1 && info.isFile()))
      return { why: info.isFile() ? 'is not a folder' : 'is not a regular file or folder', at };
  }
  return { info };
}

/**
 * The regular files under a real folder (symlinks are neither followed nor listed; what is
 * neither a file nor a folder is told to `passedOver`).
 */
async function filesUnder(
  root: string,
  relative = '',
  passedOver?: (file: string, why: string) => void,
): Promise<string[]> {
  const found: string[] = [];
  if (relative === '' && !(await isRealFolder(root))) return found;
  let entries;
  try {
    entries = await readdir(path.join(root, relative), { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(root, child, passedOver)));
    else if (entry.isFile()) found.push(child);
    else passedOver?.(child, entry.isSymbolicLink() ? 'is a symlink' : 'is not a regular file');
  }
  return found;
}

/**
 * Removes versions from folders older than `olderThanDays`, never the last copy of anything: a
 * version is removed only while files/ still has a copy of that file.
 */
export async function pruneVersions(
  backupDir: string,
  olderThanDays: number,
  now: Date,
): Promise<{ removedFiles: number; removedBytes: number; keptOnlyCopies: number }> {
  const cutoff = new Date(now.getTime() - olderThanDays * 24 * 60 * 60 * 1000)
    .toISOString()
    .slice(0, 10);
  const result = { removedFiles: 0, removedBytes: 0, keptOnlyCopies: 0 };
  for (const folder of await versionFolders(backupDir)) {
    if (folder.slice(0, 10) >= cutoff) continue;
    const root = path.join(backupLayout(backupDir).versionsDir, folder);
    for (const relative of await filesUnder(root)) {
      const current = await reachedWithoutLinks(backupLayout(backupDir).filesDir, relative);
      if (!('info' in current) || !current.info.isFile()) {
        result.keptOnlyCopies += 1;
        continue;
      }
      const file = path.join(root, relative);
      result.removedBytes += (await lstat(file)).size;
      await rm(file);
      result.removedFiles += 1;
    }
    await removeEmptyFolders(root);
  }
  return result;
}

async function removeEmptyFolders(folder: string): Promise<void> {
  for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) await removeEmptyFolders(path.join(folder, entry.name));
  }
  await rmdir(folder).catch(() => undefined);
}

/** A copy `copiesAsOf` did not take: where it is on the drive (under backupDir), and why. */
export interface SkippedEntry {
  entry: string;
  why: string;
}

/**
 * A path of the library as `restore --path` takes it: relative, no `..`, no NUL, no empty or
 * `.` parts. It is user input, and becomes a path under the library and under the drive.
 */
export function libraryRelativePath(given: string): string[] {
  const parts = given.split('/').filter((part) => part !== '' && part !== '.');
  const refused = given.startsWith('/')
    ? 'is absolute'
    : given.includes('\0')
      ? 'holds a NUL character'
      : parts.includes('..')
        ? 'holds ".."'
        : parts.length === 0
          ? 'names no file or folder'
          : null;
  if (refused !== null) {
    throw new AgentError('CONFIG_INVALID', `--path ${JSON.stringify(given)} ${refused}.`, {
      hint: 'Give a path inside the library, as Immich writes it: upload/…, library/….',
    });
  }
  return parts;
}

/**
 * Where each file under `relative` (a file or a folder of the library) is on the drive as it was
 * on `date`: the earliest version replaced after that day, else the current copy in files/.
 * Copies are named relative to backupDir (files/…, versions/<day>/…). Only regular files and
 * folders, reached without following a symlink, are taken; anything else is named in `skipped`.
 */
export async function copiesAsOf(
  backupDir: string,
  relative: string,
  date: string,
): Promise<{ copies: Map<string, string>; skipped: SkippedEntry[] }> {
  const clean = libraryRelativePath(relative).join('/');
  const copies = new Map<string, string>();
  const skipped: SkippedEntry[] = [];
  const collect = async (rootRelative: string): Promise<void> => {
    const root = path.join(backupDir, rootRelative);
    const reached = await reachedWithoutLinks(root, clean);
    if ('why' in reached) {
      if (reached.at !== null)
        skipped.push({ entry: path.join(rootRelative, reached.at), why: reached.why });
      return;
    }
    const files = reached.info.isDirectory()
      ? await filesUnder(root, clean, skippedUnder(rootRelative, skipped))
      : [clean];
    for (const file of files)
      if (!copies.has(file)) copies.set(file, path.join(rootRelative, file));
  };
  for (const folder of await versionFolders(backupDir)) {
    if (folder.slice(0, 10) > date) await collect(path.join(versionsFolder, folder));
  }
  await collect(filesFolder);
  return { copies, skipped };
}

function skippedUnder(rootRelative: string, skipped: SkippedEntry[]) {
  return (file: string, why: string): void => {
    skipped.push({ entry: path.join(rootRelative, file), why });
  };
}
