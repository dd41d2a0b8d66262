import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { translateDockerError as translate } from './docker-errors.js';

export interface ImageInfo {
  /** `sha256:…`, the image's own digest: the same on every machine for the same image. */
  id: string;
  repoTags: string[];
  /** `name@sha256:…` for images pulled from a registry; empty for built or loaded ones. */
  repoDigests: string[];
  /** Its size unpacked, in bytes (about what `docker save` writes before compression). */
  size: number;
}

/** What a `docker load` brought, as the engine says it: the references and the untagged ids. */
export interface LoadedImages {
  /** `name:tag` of each tagged image loaded (`Loaded image: name:tag`). */
  references: string[];
  /** `sha256:…` of each image loaded without a tag (`Loaded image ID: sha256:…`). */
  ids: string[];
}

/** Reads the engine's answer to a load: its JSON lines, a failure a line with "error". */
export function loadedImagesOf(text: string): LoadedImages {
  const loaded: LoadedImages = { references: [], ids: [] };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as {
      stream?: string;
      error?: string;
      errorDetail?: { message?: string };
    };
    if (event.error) throw new Error(event.errorDetail?.message ?? event.error);
    for (const said of (event.stream ?? '').split('\n')) {
      const id = /^Loaded image ID: (\S+)\s*$/.exec(said)?.[1];
      const reference = /^Loaded image: (\S+)\s*$/.exec(said)?.[1];
      if (id !== undefined) loaded.ids.push(id);
      else if (reference !== undefined) loaded.references.push(reference);
    }
  }
  return loaded;
}

/** The Docker adapter's image calls (docker.ts): inspect, save, load, tag. */
export function imageCalls(docker: Docker, where: string) {
  const call = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw translate(error, what, where);
    }
  };
  return {
    async imageInfo(reference: string): Promise<ImageInfo | null> {
      try {
        const info = await docker.getImage(reference).inspect();
        return {
          id: info.Id,
          repoTags: info.RepoTags ?? [],
          repoDigests: info.RepoDigests ?? [],
          size: info.Size,
        };
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return null;
        throw translate(error, `inspect image ${reference}`, where);
      }
    },

    async saveImage(reference: string): Promise<Readable> {
      return call(
        `save image ${reference}`,
        async () => (await docker.getImage(reference).get()) as Readable,
      );
    },

    async loadImage(tar: Readable): Promise<LoadedImages> {
      return call('load an image', async () => {
        const response = (await docker.loadImage(tar)) as Readable;
        let text = '';
        for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
        return loadedImagesOf(text);
      });
    },

    async tagImage(id: string, reference: string): Promise<void> {
      // `name:tag`, the tag after the last colon that follows the last slash (a registry port
      // has a colon too: `localhost:5000/immich`).
      const slash = reference.lastIndexOf('/');
      const colon = reference.lastIndexOf(':');
      const [repo, tag] =
        colon > slash
          ? [reference.slice(0, colon), reference.slice(colon + 1)]
          : [reference, 'latest'];
      await call(`tag image ${id} as ${reference}`, () => docker.getImage(id).tag({ repo, tag }));
    },
  };
}
