import { openFolder, openRegularFile } from '../restore/no-follow.js';

/** The time a copy is given so that rsync's quick check (size and time) copies it again. */
export const copyAgainTime = new Date(0);

/**
 * Marks copies on the drive that do not match Immich's checksum (bit rot, a bad copy) so the
 * next backup copies them again from the library: rsync compares only size and time, and rot
 * keeps both. Each file is opened without following a link and given the time 1970-01-01; the
 * next run replaces it (its originals guard first checks the library's copy against Immich's
 * checksum, and keeps the old copy in versions/). Returns the paths marked; one that cannot be
 * opened (gone, a link) is left alone.
 */
export async function markForCopyAgain(
  filesDir: string,
  relatives: readonly string[],
): Promise<string[]> {
  if (relatives.length === 0) return [];
  const marked: string[] = [];
  const folder = await openFolder(filesDir);
  try {
    for (const relative of relatives) {
      const file = await openRegularFile(folder, relative).catch(() => null);
      if (file === null) continue;
      try {
        await file.utimes(copyAgainTime, copyAgainTime);
        marked.push(relative);
      } catch {
        // A read-only or vanished copy stays as it is: still named as damaged.
      } finally {
        await file.close();
      }
    }
  } finally {
    await folder.close();
  }
  return marked;
}
