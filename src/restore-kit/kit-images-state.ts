import type { Stats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files/atomic-files.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { stateFolder } from '../layout/state-folder.js';

/**
 * What the agent knows of the image files it wrote in one drive's restore kit, in the state
 * folder (root's, 0600 per drive uuid): each file's size, modification time and sha256 as it
 * was written. The drive is not trusted: a file under an image's name counts as saved only when
 * it is still the one this record describes (garbage, a damaged or planted file is saved again).
 */

const entrySchema = z.object({
  bytes: z.number().int().min(1),
  mtimeMs: z.number(),
  /** Of the gzip file as written (hashed while it streamed onto the drive). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const stateSchema = z.object({
  version: z.literal(1),
  driveUuid: z.string(),
  /** By file name in `images/` (`<hex>.tar.gz`). */
  files: z.record(z.string().regex(/^[0-9a-f]{64}\.tar\.gz$/), entrySchema),
});

export type KitImageRecord = z.infer<typeof entrySchema>;
export type KitImagesState = z.infer<typeof stateSchema>;

/** Where the record of a drive's kit images is kept: the state folder and the drive's uuid. */
export interface KitImagesLedger {
  stateDir: string;
  driveUuid: string;
}

/**
 * FAT keeps a modification time to 2 s (rounded down when the drive is mounted again), exFAT to
 * 10 ms: the time read back may be that much earlier than the one read right after the write.
 */
const mtimeSlackMs = 2000;

const fileOf = (ledger: KitImagesLedger): string =>
  path.join(
    stateFolder(ledger.stateDir).kitImagesDir,
    `${ledger.driveUuid.toLowerCase().replace(/[^0-9a-z-]/g, '_')}.json`,
  );

/** The drive's record; an empty one when there is none yet or it is not one (all saved anew). */
export async function readKitImagesState(ledger: KitImagesLedger): Promise<KitImagesState> {
  const empty: KitImagesState = { version: 1, driveUuid: ledger.driveUuid, files: {} };
  const read = await readSmallRegularFile(fileOf(ledger), 1024 * 1024);
  if ('absent' in read) return empty;
  try {
    const checked = stateSchema.safeParse(JSON.parse(read.text));
    return checked.success &&
      checked.data.driveUuid.toLowerCase() === ledger.driveUuid.toLowerCase()
      ? checked.data
      : empty;
  } catch {
    return empty;
  }
}

export async function writeKitImagesState(
  ledger: KitImagesLedger,
  state: KitImagesState,
): Promise<void> {
  await mkdir(stateFolder(ledger.stateDir).kitImagesDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(fileOf(ledger), `${JSON.stringify(stateSchema.parse(state))}\n`, 0o600);
}

/** Is the file on the drive (lstat, not followed) still the one the record describes? */
export function matchesRecord(info: Stats | null, record: KitImageRecord | undefined): boolean {
  if (info === null || record === undefined || !info.isFile()) return false;
  return info.size === record.bytes && Math.abs(info.mtimeMs - record.mtimeMs) <= mtimeSlackMs;
}
