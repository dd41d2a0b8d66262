import { statfs } from 'node:fs/promises';
import type { DockerAdapter } from '../adapters/docker.js';
import type { Logger } from '../log/logger.js';
import { saveKitImages, type KitImageToSave } from './kit-images.js';

/** What the kit step needs to know of the images saved (kit-images.ts). */
export interface KitImagesResult {
  saved: { id: string; file: string; bytes: number }[];
  present: { id: string; file: string }[];
  skipped: { id: string; reason: string }[];
}

/**
 * restoreKit.images: the exact images saved in the kit, once per image id; with it off nothing is
 * asked of Docker. The space check uses the drive's free space now against each image's size.
 */
export async function saveImagesIfWanted(
  wanted: boolean,
  docker: DockerAdapter,
  images: readonly KitImageToSave[],
  kitDir: string,
  options: { signal?: AbortSignal; log?: Logger },
): Promise<KitImagesResult> {
  if (!wanted) return { saved: [], present: [], skipped: [] };
  return saveKitImages(docker, images, kitDir, {
    ...options,
    freeBytes: async () => {
      const info = await statfs(kitDir);
      return info.bavail * info.bsize;
    },
  });
}
