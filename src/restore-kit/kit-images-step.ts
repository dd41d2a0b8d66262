import { statfs } from 'node:fs/promises';
import type { DockerAdapter } from '../adapters/docker.js';
import { isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { saveKitImages, type KitImageToSave, type SavedKitImages } from './kit-images.js';
import type { KitImagesLedger } from './kit-images-state.js';

/** What the kit step needs to know of the images saved (kit-images.ts). */
export type KitImagesResult = Omit<SavedKitImages, 'held'> & {
  /** Why the images could not all be saved (the first failure), or null. */
  problem: Error | null;
};

/**
 * restoreKit.images: the exact images saved in the kit, once per image id; with it off nothing is
 * asked of Docker. The space check uses the drive's free space now against each image's size.
 * A failure does not lose what is known: the images saved or already there before and after
 * the one that failed are in the result, with the failure as its `problem`. An abort throws
 * INTERRUPTED: nothing more is written after it.
 */
export async function saveImagesIfWanted(
  wanted: boolean,
  docker: DockerAdapter,
  images: readonly KitImageToSave[],
  kitDir: string,
  options: { signal?: AbortSignal; log?: Logger; ledger: KitImagesLedger },
): Promise<KitImagesResult> {
  const none = { saved: [], present: [], skipped: [], failed: [] };
  if (!wanted) return { ...none, problem: null };
  try {
    const result = await saveKitImages(docker, images, kitDir, {
      ...options,
      freeBytes: async () => {
        const info = await statfs(kitDir);
        return info.bavail * info.bsize;
      },
    });
    return { ...result, problem: result.failed[0]?.error ?? null };
  } catch (error) {
    // The kit or its images folder cannot be used: nothing in it counts as saved.
    if (isAgentError(error, 'INTERRUPTED')) throw error;
    return { ...none, problem: error instanceof Error ? error : new Error(String(error)) };
  }
}
