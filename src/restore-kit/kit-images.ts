import { constants } from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DockerAdapter } from '../adapters/docker.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import type { Logger } from '../log/logger.js';
import { inside, openChildFolder } from '../restore/no-follow.js';
import { interrupted, kitFailure, openKitFolder } from './kit-images-load.js';
import { savedImageName } from './kit-manifest.js';

/**
 * The exact images the Immich server and database ran, saved in the restore kit so a new machine
 * needs no registry: `docker save` streamed from the engine through gzip onto the drive, once per
 * image id (an id names its content, so a file once complete is never written again), and
 * `docker load` back, checked to have brought that very id: the drive is not trusted.
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
  /** How many image files the kit holds now, these and older ones (kept: once per id). */
  held: number;
}

export interface SaveKitImagesOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Free bytes on the drive now; without it, no image is skipped for space. */
  freeBytes?: () => Promise<number>;
}

/**
 * Saves each image not yet in `<kitDir>/images/`, one after the other (files relative to kitDir,
 * as the manifest has them). An image that does not fit, or is gone, is skipped with the reason;
 * any other failure throws RESTORE_KIT_FAILED (INTERRUPTED on abort), its partial file removed.
 */
export async function saveKitImages(
  docker: DockerAdapter,
  images: readonly KitImageToSave[],
  kitDir: string,
  options: SaveKitImagesOptions = {},
): Promise<SavedKitImages> {
  const result: SavedKitImages = { saved: [], present: [], skipped: [], held: 0 };
  const kit = await openKitFolder(kitDir, 'RESTORE_KIT_FAILED');
  try {
    const folder = await openChildFolder(kit, 'images', 'images', { owner: null }).catch(
      (error: unknown) => {
        throw kitFailure('RESTORE_KIT_FAILED', `Cannot use ${kitDir}/images`, error);
      },
    );
    try {
      const seen = new Set<string>();
      for (const image of images) {
        if (seen.has(image.id)) continue;
        seen.add(image.id);
        await saveOne(docker, folder, image, options, result).catch((error: unknown) => {
          throw kitFailure(
            'RESTORE_KIT_FAILED',
            `Could not save the image ${image.reference} (${image.id})`,
            error,
          );
        });
      }
      const entries = await readdir(inside(folder), { withFileTypes: true });
      result.held = entries.filter(
        (entry) => entry.isFile() && /^[0-9a-f]{64}\.tar\.gz$/.test(entry.name),
      ).length;
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
): Promise<void> {
  if (options.signal?.aborted) throw interrupted(options.signal.reason, 'RESTORE_KIT_FAILED');
  const file = savedImageName(image.id);
  const name = file.slice('images/'.length);
  const partial = `.${name}.partial`;
  const existing = await lstat(inside(folder, name)).catch(absentAsNull);
  if (existing?.isFile() && existing.size > 0) {
    result.present.push({ id: image.id, file });
    return;
  }
  if (existing?.isDirectory()) {
    result.skipped.push({ id: image.id, reason: `${file} on the drive is a folder` });
    return;
  }
  // A link, an empty or special file in its place is replaced below by the rename (not followed).
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
  const bytes = await writeImage(docker, folder, image, name, partial, options.signal);
  if (bytes === null) {
    const reason = 'the drive filled up while it was saved';
    result.skipped.push({ id: image.id, reason });
    options.log?.warn(
      { step, image: image.reference },
      `Not saving ${image.reference}: ${reason}.`,
    );
    return;
  }
  result.saved.push({ id: image.id, file, bytes });
  options.log?.info(
    { step, image: image.reference, id: image.id, bytes },
    `Saved the image ${image.reference} (${formatBytes(bytes)}) in ${formatDuration(Date.now() - started)}.`,
  );
}

/** Streams the image into `.<hex>.tar.gz.partial`, then renames it; its size, or null on ENOSPC. */
async function writeImage(
  docker: DockerAdapter,
  folder: FileHandle,
  image: KitImageToSave,
  name: string,
  partial: string,
  signal: AbortSignal | undefined,
): Promise<number | null> {
  const handle = await open(inside(folder, partial), partialFlags, 0o644);
  let bytes: number;
  try {
    try {
      const tar = await docker.saveImage(image.id);
      const gzip = createGzip({ level: imageGzipLevel });
      await pipeline(tar, gzip, fileWriter(handle), { signal });
      // The umask must not narrow it; a drive without permissions has none to set.
      await handle.chmod(0o644).catch(() => undefined);
      await handle.sync();
      bytes = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    await rename(inside(folder, partial), inside(folder, name));
    await folder.sync(); // the rename survives a power cut
    return bytes;
  } catch (error) {
    await unlink(inside(folder, partial)).catch(() => undefined);
    if (signal?.aborted) throw interrupted(error, 'RESTORE_KIT_FAILED');
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return null;
    throw error;
  }
}

/**
 * Writes into a file handle the caller keeps (to flush and close it). Not the handle's own
 * createWriteStream({ autoClose: false }): after that, close() never settles on Node 20.
 */
function fileWriter(handle: FileHandle): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeAll(handle, chunk).then(() => callback(), callback);
    },
  });
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    offset += (await handle.write(chunk, offset)).bytesWritten;
  }
}

function absentAsNull(error: unknown): null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw error;
}

export { loadKitImage, taggedName, type KitImageToLoad } from './kit-images-load.js';
