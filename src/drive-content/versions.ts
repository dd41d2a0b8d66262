import type { Stats } from 'node:fs';
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { backupLayout } from '../layout/drive.js';
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
 * way (each folder on the path is looked at as it is); null when it is not there that way.
 */
async function reachedWithoutLinks(root: string, relative: string): Promise<Stats | null> {
  let current = root;
  let info = await lstat(current).catch(() => null);
  for (const part of relative.split('/').filter(Boolean)) {
    if (!info?.isDirectory()) return null;
    current = path.join(current, part);
    info = await lstat(current).catch(() => null);
  }
  return info && (info.isDirectory() || info.isFile()) ? info : null;
}

/** The regular files under a real folder (symlinks are neither followed nor listed). */
async function filesUnder(root: string, relative = ''): Promise<string[]> {
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
    if (entry.isDirectory()) found.push(...(await filesUnder(root, child)));
    else if (entry.isFile()) found.push(child);
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
      if (!(await reachedWithoutLinks(backupLayout(backupDir).filesDir, relative))?.isFile()) {
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

/**
 * Where each file under `relative` (a file or a folder of the library) is on the drive as it was
 * on `date`: the earliest version replaced after that day, else the current copy in files/.
 */
export async function copiesAsOf(
  backupDir: string,
  relative: string,
  date: string,
): Promise<Map<string, string>> {
  const chosen = new Map<string, string>();
  const clean = path.normalize(relative).replace(/^\/+|\/+$/g, '');
  if (clean === '..' || clean.startsWith('../')) {
    throw new AgentError(
      'CONFIG_INVALID',
      `--path ${relative} leads out of the library; give a path inside it (upload/…, library/…).`,
    );
  }
  const collect = async (root: string): Promise<string[]> => {
    const target = path.join(root, clean);
    const info = await reachedWithoutLinks(root, clean);
    if (info === null) return [];
    return info.isDirectory()
      ? (await filesUnder(target)).map((file) => path.join(clean, file))
      : [clean];
  };
  for (const folder of await versionFolders(backupDir)) {
    if (folder.slice(0, 10) <= date) continue;
    const root = path.join(backupLayout(backupDir).versionsDir, folder);
    for (const file of await collect(root))
      if (!chosen.has(file)) chosen.set(file, path.join(root, file));
  }
  const current = backupLayout(backupDir).filesDir;
  for (const file of await collect(current))
    if (!chosen.has(file)) chosen.set(file, path.join(current, file));
  return chosen;
}
