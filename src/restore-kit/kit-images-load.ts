import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import type { DockerAdapter, LoadedImages } from '../adapters/docker.js';
import { AgentError, type ErrorCode } from '../errors.js';
import { openRegularFile } from '../restore/no-follow.js';
import { savedImageName } from './kit-manifest.js';
import { shellQuote } from './text-quoting.js';

/**
 * `docker load` of an image the restore kit holds (see kit-images.ts), checked to have brought
 * the very id the manifest records, and nothing else: the drive is not trusted, and a file under
 * the right name may be any image at all, or that image with others beside it.
 */

const folderFlags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface KitImageToLoad {
  reference: string;
  id: string;
  /** `images/<hex>.tar.gz` as the manifest has it, or null if the kit holds no copy. */
  saved: string | null;
  repoDigests?: readonly string[];
}

/**
 * Makes the image `id` present in the engine, from the kit's copy if it is not already, and
 * points `reference` at it. A file that loads as another image is refused: the drive could
 * carry anything under that name.
 */
export async function loadKitImage(
  docker: DockerAdapter,
  kitDir: string,
  image: KitImageToLoad,
  options: { signal?: AbortSignal } = {},
): Promise<'already-here' | 'loaded'> {
  if ((await docker.imageInfo(image.id)) !== null) {
    await pointReference(docker, image);
    return 'already-here';
  }
  if (image.saved === null) {
    const pull = image.repoDigests?.[0] ?? image.reference;
    throw new AgentError(
      'IMAGE_MISSING',
      `The image ${image.reference} (${image.id}) is not on this machine and the restore kit holds no copy of it.`,
      {
        step: 'restore',
        hint: `Get it from its registry (docker pull ${shellQuote(pull)}) and run again.`,
      },
    );
  }
  if (image.saved !== savedImageName(image.id))
    throw kitFailure(
      'RESTORE_FAILED',
      `The restore kit names ${image.saved} for the image ${image.id}`,
    );
  // What the reference's tag pointed at: a file that moves it to another image is undone.
  const tagged = taggedName(image.reference);
  const before = tagged === null ? null : await docker.imageInfo(tagged);
  const kit = await openKitFolder(kitDir, 'RESTORE_FAILED');
  let loaded: LoadedImages;
  try {
    const file = await openRegularFile(kit, image.saved).catch((error: unknown) => {
      throw kitFailure('RESTORE_FAILED', `Cannot read ${image.saved} in the restore kit`, error);
    });
    const stream = file.createReadStream();
    const stop = () => stream.destroy(interrupted(options.signal?.reason));
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      if (options.signal?.aborted) throw interrupted(options.signal.reason);
      loaded = await docker.loadImage(stream);
    } catch (error) {
      if (options.signal?.aborted) throw interrupted(error);
      throw kitFailure(
        'RESTORE_FAILED',
        `Docker could not load ${image.saved} from the restore kit`,
        error,
      );
    } finally {
      options.signal?.removeEventListener('abort', stop);
      stream.destroy();
    }
  } finally {
    await kit.close();
  }
  // What the engine says it loaded, besides the recorded id (untagged) or its own reference.
  const others = [
    ...loaded.ids.filter((id) => id !== image.id),
    ...loaded.references.filter((name) => tagged === null || familiar(name) !== familiar(tagged)),
  ];
  if (others.length > 0 || (await docker.imageInfo(image.id)) === null)
    await refuseImpostor(docker, image, before, others);
  await pointReference(docker, image);
  return 'loaded';
}

/** `postgres:17` for `docker.io/library/postgres:17`: the name the engine says it loaded. */
const familiar = (name: string) => name.replace(/^(?:index\.)?docker\.io\/(?:library\/)?/, '');

/**
 * The file loaded, but not (only) as the recorded image: the reference goes back to where it
 * was; the other names it loaded are named, as no one can tell where they pointed before.
 */
async function refuseImpostor(
  docker: DockerAdapter,
  image: KitImageToLoad,
  before: { id: string } | null,
  others: readonly string[],
): Promise<never> {
  const tagged = taggedName(image.reference);
  const now = tagged === null ? null : await docker.imageInfo(tagged);
  let left = '';
  if (tagged !== null && now !== null && now.id !== before?.id) {
    if (before !== null) await docker.tagImage(before.id, tagged);
    else
      left = ` It left ${tagged} pointing at ${now.id}: remove it (docker rmi ${shellQuote(tagged)}).`;
  }
  const what =
    others.length === 0
      ? 'it loaded as another image'
      : `it also loaded ${others.join(', ')}: check or remove ${others.length === 1 ? 'it' : 'them'} (docker rmi)`;
  throw new AgentError(
    'RESTORE_FAILED',
    `${image.saved} in the restore kit is not the image ${image.reference} (${image.id}): ${what}.${left}`,
    {
      step: 'restore',
      hint: `Do not trust this drive's restore kit; get the image from its registry (docker pull ${shellQuote(image.repoDigests?.[0] ?? image.reference)}).`,
    },
  );
}

/** `docker tag id reference`, unless it already points there or is a digest (not a tag). */
async function pointReference(docker: DockerAdapter, image: KitImageToLoad): Promise<void> {
  const tagged = taggedName(image.reference);
  if (tagged === null || (await docker.imageInfo(tagged))?.id === image.id) return;
  await docker.tagImage(image.id, tagged);
}

/**
 * The `name:tag` of a reference that `docker tag` can point: `repo[:tag][@digest]` without the
 * digest (`:latest` if no tag); null for `repo@digest`, which only a registry pull can give.
 */
export function taggedName(reference: string): string | null {
  const [named = '', digest] = reference.split('@');
  if (named.lastIndexOf(':') > named.lastIndexOf('/')) return named;
  return digest === undefined ? `${named}:latest` : null;
}

/** The kit's folder, itself not followed if it is a link (the drive is not trusted). */
export async function openKitFolder(kitDir: string, code: KitCode) {
  try {
    return await open(kitDir, folderFlags);
  } catch (error) {
    const link = (await lstat(kitDir).catch(() => null))?.isSymbolicLink();
    const why = link ? 'it is a symlink' : (error as Error).message;
    throw new AgentError(code, `Cannot use the restore kit at ${kitDir}: ${why}.`, {
      step: stepOf(code),
      cause: error,
    });
  }
}

type KitCode = 'RESTORE_KIT_FAILED' | 'RESTORE_FAILED';
const stepOf = (code: KitCode) => (code === 'RESTORE_FAILED' ? 'restore' : 'restore-kit');
/** Errors that say it all already (a stop, an engine away) pass; others are the kit's. */
const passedOn = new Set<ErrorCode>([
  'INTERRUPTED',
  'DOCKER_UNAVAILABLE',
  'RESTORE_KIT_FAILED',
  'RESTORE_FAILED',
]);

/** `what` failed: an AgentError of `code`, with the cause's own words (a link named as such). */
export function kitFailure(code: KitCode, what: string, cause?: unknown): AgentError {
  if (cause instanceof AgentError && passedOn.has(cause.code)) return cause;
  const why = cause === undefined ? '' : `: ${(cause as Error).message}`;
  return new AgentError(code, `${what}${why}.`, { step: stepOf(code), cause });
}

export function interrupted(cause: unknown, code: KitCode = 'RESTORE_FAILED'): AgentError {
  if (cause instanceof AgentError && cause.code === 'INTERRUPTED') return cause;
  return new AgentError('INTERRUPTED', 'Saving or loading an image was stopped.', {
    step: stepOf(code),
    cause,
  });
}
