import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError } from '../errors.js';

/** What the images helper reports (kit-images.ts, merged from its own branch). */
export interface KitImagesResult {
  saved: { id: string; file: string; bytes: number }[];
  present: { id: string; file: string }[];
  skipped: { id: string; reason: string }[];
}

/**
 * restoreKit.images: the exact images saved in the kit, once per image id. This branch has not
 * the images part (kit-images.ts): with `images` off nothing is asked of Docker; on, the kit
 * step's warning says the images were not saved. The merge replaces this file with the call.
 */
export function saveImagesIfWanted(
  wanted: boolean,
  _docker: DockerAdapter,
  _images: readonly { reference: string; id: string }[],
  _kitDir: string,
  _options: { signal?: AbortSignal },
): Promise<KitImagesResult> {
  if (!wanted) return Promise.resolve({ saved: [], present: [], skipped: [] });
  return Promise.reject(
    new AgentError('RESTORE_KIT_FAILED', 'saving images in the kit is not built on this branch', {
      step: 'restore-kit',
    }),
  );
}
