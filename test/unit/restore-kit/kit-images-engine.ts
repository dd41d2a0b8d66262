import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { DockerAdapter, ImageInfo, LoadedImages } from '../../../src/adapters/docker.js';
import { savedImageName } from '../../../src/restore-kit/kit-manifest.js';

/** The unit tests' engine and kit folder for kit-images.ts (saving) and its loading half. */

export const idA = `sha256:${'a'.repeat(64)}`;
export const idB = `sha256:${'b'.repeat(64)}`;
export const line = (id: string) => `image ${id}\n`;
/** The engine answers later, as a socket does. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * An engine in memory: an image's tar is its id line many times (a few MB, many chunks); a tar
 * may hold several images (`image <id>` lines), each tagged by a `tag <name>` line after it.
 * A load says what it loaded as the engine does: the tag of a tagged image, else its id.
 */
export function fakeEngine(ids: string[], options: { failAfter?: number } = {}) {
  const images = new Map<string, ImageInfo>(
    ids.map((id) => [id, { id, repoTags: [], repoDigests: [], size: 1000 }]),
  );
  const calls = { save: [] as string[], load: 0, tag: [] as string[] };
  const docker = {
    async imageInfo(reference: string) {
      await tick();
      return (
        images.get(reference) ??
        [...images.values()].find((image) => image.repoTags.includes(reference)) ??
        null
      );
    },
    async saveImage(reference: string) {
      calls.save.push(reference);
      await tick();
      const chunks = Array.from({ length: 200 }, () => Buffer.from(line(reference).repeat(256)));
      return Readable.from(
        (async function* () {
          for (const [index, chunk] of chunks.entries()) {
            await tick();
            if (options.failAfter !== undefined && index === options.failAfter)
              throw new Error('the engine hung up');
            yield chunk;
          }
        })(),
      );
    },
    async loadImage(tar: Readable): Promise<LoadedImages> {
      calls.load += 1;
      const parts: Buffer[] = [];
      for await (const chunk of tar) parts.push(chunk as Buffer);
      const text = gunzipSync(Buffer.concat(parts)).toString('utf8');
      const loaded: LoadedImages = { references: [], ids: [] };
      const tags = new Map<string, string | undefined>();
      for (const [, id = '', tag] of text.matchAll(/image (\S+)\n(?:tag (\S+)\n)?/g))
        if (!tags.has(id) || tag !== undefined) tags.set(id, tag);
      for (const [id, tag] of tags) {
        for (const image of images.values())
          image.repoTags = image.repoTags.filter((name) => name !== tag);
        images.set(id, { id, repoTags: tag ? [tag] : [], repoDigests: [], size: 1000 });
        if (tag) loaded.references.push(tag);
        else loaded.ids.push(id);
      }
      return loaded;
    },
    async tagImage(id: string, reference: string) {
      calls.tag.push(`${id} ${reference}`);
      await tick();
      for (const image of images.values())
        image.repoTags = image.repoTags.filter((name) => name !== reference);
      images.get(id)?.repoTags.push(reference);
    },
  } as unknown as DockerAdapter;
  return { docker, images, calls };
}

/** A `docker save` that the engine breaks off before its first byte. */
export const brokenTar = () =>
  Promise.resolve(
    new Readable({
      read() {
        this.destroy(new Error('engine hung up'));
      },
    }),
  );

/** A fresh kit folder (`<tmp>/restore-kit`) per test; its parent is removed after. */
export async function makeKitDir(): Promise<string> {
  const kitDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kit-images-')), 'restore-kit');
  await mkdir(kitDir);
  return kitDir;
}

export const removeKitDir = (kitDir: string) =>
  rm(path.dirname(kitDir), { recursive: true, force: true });

export const imageFileIn = (kitDir: string, id: string) => path.join(kitDir, savedImageName(id));
