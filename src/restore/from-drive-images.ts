import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { DockerAdapter } from '../adapters/docker.js';
import { taggedName } from '../restore-kit/kit-images.js';
import type { KitImage, KitManifest } from '../restore-kit/kit-manifest.js';
import type { ComposeService } from './from-drive-compose-file.js';

export interface PlannedImage {
  role: 'server' | 'database';
  image: KitImage | null;
  /** here (by id), on the drive (saved in the kit), or missing (to be pulled). */
  source: 'here' | 'drive' | 'missing' | 'unknown';
}

/** Where the kit's database and server images come from on this machine. */
export async function plannedImages(
  docker: DockerAdapter,
  kitDir: string,
  kit: KitManifest,
): Promise<PlannedImage[]> {
  const images: PlannedImage[] = [];
  for (const role of ['database', 'server'] as const) {
    const image = kit.images[role];
    images.push({ role, image, source: await imageSource(docker, kitDir, image) });
  }
  return images;
}

/**
 * What compose would pull: images the engine does not have by the reference compose uses, but
 * for the kit's images, which the restore points their tag at.
 */
export async function imagesToPull(
  docker: DockerAdapter,
  services: readonly ComposeService[],
  images: readonly PlannedImage[],
): Promise<string[]> {
  const kitTags = new Set(
    images
      .filter((entry) => entry.source === 'here' || entry.source === 'drive')
      .map((entry) => (entry.image ? taggedName(entry.image.reference) : null)),
  );
  const toPull: string[] = [];
  for (const service of services) {
    if (service.image === '' || (!service.image.includes('@') && kitTags.has(service.image)))
      continue;
    if ((await docker.imageInfo(service.image).catch(() => null)) === null)
      toPull.push(service.image);
  }
  return toPull;
}

async function imageSource(
  docker: DockerAdapter,
  kitDir: string,
  image: KitImage | null,
): Promise<PlannedImage['source']> {
  if (!image) return 'unknown';
  if ((await docker.imageInfo(image.id).catch(() => null)) !== null) return 'here';
  if (image.saved && (await lstat(path.join(kitDir, image.saved)).catch(() => null))?.isFile())
    return 'drive';
  return 'missing';
}
