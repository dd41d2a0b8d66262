import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { whyNotStorable } from '../adapters/filesystem-types.js';

export interface LibraryCheck {
  /** Library files that existed when the backup was made (by ctime) and so must be in files/. */
  checked: number;
  missing: string[];
  /** Missing because the drive's filesystem refuses their names or sizes (see the run record). */
  notStorable: string[];
  /**
   * Originals the backup left as they were on the drive because the library's copy no longer
   * matched Immich's checksum (ORIGINALS_DAMAGED): they differ on purpose.
   */
  keptGood: string[];
  sizeDiffers: string[];
  /** Files that appeared or changed after the backup: not expected in it. */
  newerThanBackup: number;
  sampled: number;
  contentDiffers: string[];
}

/**
 * Is the library copy complete? Every file of the library that existed when the backup ran must
 * be in `files/` with the same size, and a random sample must match by content hash. "Existed" is
 * judged by ctime, not mtime: Immich sets an upload's mtime to the photo's own date, so a photo
 * uploaded after the backup can look old by mtime, never by ctime.
 */
export async function checkLibraryCopy(
  libraryDir: string,
  filesDir: string,
  backupTime: Date,
  sampleSize: number,
  drive: {
    filesystemType?: string;
    notStored?: ReadonlySet<string>;
    keptGood?: ReadonlySet<string>;
  } = {},
): Promise<LibraryCheck> {
  const refused = (relative: string, bytes: number): boolean =>
    drive.notStored?.has(relative) === true ||
    whyNotStorable(relative, drive.filesystemType ?? 'ext4', bytes) !== null;
  const result: LibraryCheck = {
    checked: 0,
    missing: [],
    notStorable: [],
    keptGood: [],
    sizeDiffers: [],
    newerThanBackup: 0,
    sampled: 0,
    contentDiffers: [],
  };
  const eligible: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(libraryDir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        await walk(child);
        continue;
      }
      if (!entry.isFile()) continue;
      const original = await lstat(path.join(libraryDir, child));
      if (original.ctimeMs > backupTime.getTime()) {
        result.newerThanBackup += 1;
        continue;
      }
      result.checked += 1;
      if (drive.keptGood?.has(child) === true) {
        result.keptGood.push(child);
        continue;
      }
      const copy = await lstat(path.join(filesDir, child)).catch(() => null);
      if (copy === null && refused(child, original.size)) result.notStorable.push(child);
      else if (copy === null) result.missing.push(child);
      else if (copy.size !== original.size) result.sizeDiffers.push(child);
      else eligible.push(child);
    }
  };
  await walk('');
  // A partial Fisher-Yates shuffle picks the sample without bias.
  const count = Math.min(sampleSize, eligible.length);
  for (let index = 0; index < count; index += 1) {
    const pick = randomInt(index, eligible.length);
    [eligible[index], eligible[pick]] = [eligible[pick] as string, eligible[index] as string];
    const relative = eligible[index] as string;
    const [left, right] = await Promise.all([
      sha256(path.join(libraryDir, relative)),
      sha256(path.join(filesDir, relative)),
    ]);
    result.sampled += 1;
    if (left !== right) result.contentDiffers.push(relative);
  }
  return result;
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
