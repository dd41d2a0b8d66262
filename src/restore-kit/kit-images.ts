import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DockerAdapter } from '../adapters/docker.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import type { Logger } from '../log/logger.js';
import { inside } from '../restore/no-follow.js';
import { absentAsNull, fileWriter, openImagesFolder } from './kit-images-files.js';
import { interrupted, kitFailure, openKitFolder } from './kit-images-load.js';
import {
  matchesRecord,
  readKitImagesState,
  writeKitImagesState,
  type KitImagesLedger,
  type KitImagesState,
} from './kit-images-state.js';
import { savedImageName } from './kit-manifest.js';
import { sweepPartials } from './write-kit.js';

/**
 * The exact images the Immich server and database ran, saved in the restore kit so a new machine
 * needs no registry: `docker save` streamed from the engine through gzip onto the drive, once per
 * image id (an id names its content, so a file once complete is never written again), and
 * `docker load` back, checked to have brought that very id: the drive is not trusted. A file
 * counts as saved only while it is the one the agent wrote (its record in the state folder,
 * kit-images-state.ts); anything else under that name is saved again.
 */

/**
 * Measured on the test bed's PostgreSQL image (484 MB tar, 2 busy cores): level 1 took 10 s for
 * 191 MB, level 6 16 s for 177 MB. Eight percent of a file written once per image is not worth
 * half again the time (and CPU beside a running Immich).
 */
export const imageGzipLevel = 1;
/** Free space required when the caller does not know the image's size: more than Immich's. */
export const assumedImageBytes = 2 * 1024 ** 3;
const step = 'restore-kit';
const partialFlags =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface KitImageToSave {
  reference: string;
  /** `sha256:…`: the image saved, whatever the reference points at by now. */
  id: string;
  /** Its uncompressed size (inspect's Size), when known: the free space it needs at most. */
  bytes?: number;
}

export interface SavedKitImages {
  saved: { id: string; file: string; bytes: number }[];
  present: { id: string; file: string }[];
  skipped: { id: string; reason: string }[];
  /** Images whose save failed (RESTORE_KIT_FAILED); the others were still saved or found. */
  failed: { id: string; error: Error }[];
  /** How many image files the kit holds now, these and older ones (kept: once per id). */
  held: number;
}

export interface SaveKitImagesOptions {
  /** Where the record of the files written in this drive's kit is kept (required: see above). */
  ledger: KitImagesLedger;
  signal?: AbortSignal;
  log?: Logger;
  /** Free bytes on the drive now; without it, no image is skipped for space. */
  freeBytes?: () => Promise<number>;
}

/**
 * Saves each image not yet in `<kitDir>/images/`, one after the other (files relative to kitDir,
 * as the manifest has them). An image that does not fit, or is gone, is skipped with the reason;
 * one whose save fails is in `failed` (RESTORE_KIT_FAILED), its partial file removed, and the
 * others are still saved. An abort throws INTERRUPTED; a kit or images folder that cannot be
 * used throws RESTORE_KIT_FAILED.
 */
export async function saveKitImages(
  docker: DockerAdapter,
  images: readonly KitImageToSave[],
  kitDir: string,
  options: SaveKitImagesOptions,
): Promise<SavedKitImages> {
  const result: SavedKitImages = { saved: [], present: [], skipped: [], failed: [], held: 0 };
  const kit = await openKitFolder(kitDir, 'RESTORE_KIT_FAILED');
  try {
    const folder = await openImagesFolder(kit).catch((error: unknown) => {
      throw kitFailure('RESTORE_KIT_FAILED', `Cannot use ${kitDir}/images`, error);
    });
    try {
      await sweepPartials(inside(folder)); // what a killed run left half-written
      const record = await readKitImagesState(options.ledger);
      const seen = new Set<string>();
      for (const image of images) {
        if (seen.has(image.id)) continue;
        seen.add(image.id);
        await saveOne(docker, folder, image, options, result, record).catch((error: unknown) => {
          if (options.signal?.aborted) throw interrupted(error, 'RESTORE_KIT_FAILED');
          const what = `Could not save the image ${image.reference} (${image.id})`;
          result.failed.push({
            id: image.id,
            error: kitFailure('RESTORE_KIT_FAILED', what, error),
          });
        });
      }
      // What the kit holds now: the files still as written; records of the others are dropped.
      const names = new Set(await readdir(inside(folder)));
      let dropped = false;
      for (const [name, known] of Object.entries(record.files)) {
        const info = names.has(name) ? await lstat(inside(folder, name)) : null;
        if (matchesRecord(info, known)) result.held += 1;
        else dropped = delete record.files[name];
      }
      if (dropped) await writeKitImagesState(options.ledger, record);
      options.log?.info(
        { step, saved: result.saved.length, images: result.held },
        `The restore kit holds ${plural(result.held, 'image')} (${result.saved.length} saved now).`,
      );
    } finally {
      await folder.close();
    }
  } finally {
    await kit.close();
  }
  return result;
}

async function saveOne(
  docker: DockerAdapter,
  folder: FileHandle,
  image: KitImageToSave,
  options: SaveKitImagesOptions,
  result: SavedKitImages,
  record: KitImagesState,
): Promise<void> {
  if (options.signal?.aborted) throw interrupted(options.signal.reason, 'RESTORE_KIT_FAILED');
  const file = savedImageName(image.id);
  const name = file.slice('images/'.length);
  const partial = `.${name}.partial`;
  const existing = await lstat(inside(folder, name)).catch(absentAsNull);
  if (matchesRecord(existing, record.files[name])) {
    result.present.push({ id: image.id, file });
    return;
  }
  if (existing?.isDirectory()) {
    result.skipped.push({ id: image.id, reason: `${file} on the drive is a folder` });
    return;
  }
  // Anything else in its place (a file the agent did not write, a link, a special file) is
  // replaced below by the rename, never followed or read.
  await unlink(inside(folder, partial)).catch(absentAsNull); // a killed run's leftover
  if ((await docker.imageInfo(image.id)) === null) {
    result.skipped.push({ id: image.id, reason: 'the image is no longer on this machine' });
    return;
  }
  if (options.freeBytes) {
    const needed = image.bytes ?? assumedImageBytes;
    const free = await options.freeBytes();
    if (free < needed) {
      const reason = `needs about ${formatBytes(needed)}, the drive has ${formatBytes(free)} free`;
      result.skipped.push({ id: image.id, reason });
      options.log?.warn(
        { step, image: image.reference },
        `Not saving ${image.reference}: ${reason}.`,
      );
      return;
    }
  }
  const started = Date.now();
  const written = await writeImage(docker, folder, image, name, partial, options.signal);
  if (written === null) {
    const reason = 'the drive filled up while it was saved';
    result.skipped.push({ id: image.id, reason });
    options.log?.warn(
      { step, image: image.reference },
      `Not saving ${image.reference}: ${reason}.`,
    );
    return;
  }
  const { bytes, sha256 } = written;
  const info = await lstat(inside(folder, name));
  record.files[name] = { bytes, mtimeMs: info.mtimeMs, sha256 };
  await writeKitImagesState(options.ledger, record);
  result.saved.push({ id: image.id, file, bytes });
  options.log?.info(
    { step, image: image.reference, id: image.id, bytes },
    `Saved the image ${image.reference} (${formatBytes(bytes)}) in ${formatDuration(Date.now() - started)}.`,
  );
}

/**
 * Streams the image into `.<hex>.tar.gz.partial`, then renames it; its size and sha256, or null
 * on ENOSPC.
 */
async function writeImage(
  docker: DockerAdapter,
  folder: FileHandle,
  image: KitImageToSave,
  name: string,
  partial: string,
  signal: AbortSignal | undefined,
): Promise<{ bytes: number; sha256: string } | null> {
  const handle = await open(inside(folder, partial), partialFlags, 0o644);
  const hash = createHash('sha256');
  let bytes: number;
  try {
    try {
      const tar = await docker.saveImage(image.id);
      const gzip = createGzip({ level: imageGzipLevel });
      await pipeline(tar, gzip, fileWriter(handle, hash), { signal });
      // The umask must not narrow it; a drive without permissions has none to set.
      await handle.chmod(0o644).catch(() => undefined);
      await handle.sync();
      bytes = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    await rename(inside(folder, partial), inside(folder, name));
    await folder.sync(); // the rename survives a power cut
    return { bytes, sha256: hash.digest('hex') };
  } catch (error) {
    await unlink(inside(folder, partial)).catch(() => undefined);
    if (signal?.aborted) throw interrupted(error, 'RESTORE_KIT_FAILED');
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return null;
    throw error;
  }
}

export { loadKitImage, taggedName, type KitImageToLoad } from './kit-images-load.js';
