import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { DockerAdapter, ImageInfo } from '../../../src/adapters/docker.js';
import { isAgentError } from '../../../src/errors.js';
import { loadKitImage, saveKitImages, tagOf } from '../../../src/restore-kit/kit-images.js';
import { savedImageName } from '../../../src/restore-kit/kit-manifest.js';

const idA = `sha256:${'a'.repeat(64)}`;
const idB = `sha256:${'b'.repeat(64)}`;
const line = (id: string) => `image ${id}\n`;
/** The engine answers later, as a socket does. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An engine in memory: an image's tar is its id line many times (a few MB, many chunks). */
function fakeEngine(ids: string[], options: { failAfter?: number } = {}) {
  const images = new Map<string, ImageInfo>(
    ids.map((id) => [id, { id, repoTags: [], repoDigests: [] }]),
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
    async loadImage(tar: Readable) {
      calls.load += 1;
      const parts: Buffer[] = [];
      for await (const chunk of tar) parts.push(chunk as Buffer);
      const text = gunzipSync(Buffer.concat(parts)).toString('utf8');
      const [, id = '', tag] = /^image (\S+)\n(?:tag (\S+)\n)?/.exec(text) ?? [];
      for (const image of images.values())
        image.repoTags = image.repoTags.filter((name) => name !== tag);
      images.set(id, { id, repoTags: tag ? [tag] : [], repoDigests: [] });
    },
    async tagImage(id: string, repository: string, tag: string) {
      calls.tag.push(`${id} ${repository}:${tag}`);
      await tick();
      for (const image of images.values())
        image.repoTags = image.repoTags.filter((name) => name !== `${repository}:${tag}`);
      images.get(id)?.repoTags.push(`${repository}:${tag}`);
    },
  } as unknown as DockerAdapter;
  return { docker, images, calls };
}

let kitDir: string;
beforeEach(async () => {
  kitDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kit-images-')), 'restore-kit');
  await mkdir(kitDir);
});
afterEach(async () => rm(path.dirname(kitDir), { recursive: true, force: true }));

const imageFile = (id: string) => path.join(kitDir, savedImageName(id));
const code = (name: string) => (error: unknown) => isAgentError(error, name as never);

describe('saveKitImages', () => {
  test('saves each image id once, gzip-compressed, even when it is listed twice', async () => {
    const { docker, calls } = fakeEngine([idA, idB]);
    const images = [
      { reference: 'db:17', id: idA },
      { reference: 'server:v2', id: idB },
      { reference: 'db:latest', id: idA },
    ];
    const result = await saveKitImages(docker, images, kitDir);
    assert.deepEqual(calls.save, [idA, idB]);
    assert.deepEqual(result.present, []);
    assert.deepEqual(
      result.saved.map((entry) => entry.file),
      [savedImageName(idA), savedImageName(idB)],
    );
    const text = gunzipSync(await readFile(imageFile(idA))).toString('utf8');
    assert.equal(text, line(idA).repeat(256 * 200));
    assert.equal(result.saved[0]?.bytes, (await lstat(imageFile(idA))).size);
    assert.equal((await lstat(imageFile(idA))).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), [
      `${'a'.repeat(64)}.tar.gz`,
      `${'b'.repeat(64)}.tar.gz`,
    ]);
  });

  test('an image already saved is present and not saved again', async () => {
    const { docker, calls } = fakeEngine([idA]);
    await saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir);
    const before = await lstat(imageFile(idA));
    const again = await saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir);
    assert.deepEqual(again, {
      saved: [],
      present: [{ id: idA, file: savedImageName(idA) }],
      skipped: [],
    });
    assert.equal(calls.save.length, 1);
    const after = await lstat(imageFile(idA));
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
  });

  test('a save that fails midway leaves no partial file and no image file', async () => {
    const { docker } = fakeEngine([idA], { failAfter: 50 });
    await assert.rejects(
      saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir),
      (error: unknown) => {
        assert.ok(isAgentError(error, 'RESTORE_KIT_FAILED'));
        assert.match(error.message, /db:17.*the engine hung up/);
        return true;
      },
    );
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), []);
  });

  test('an abort stops the save as INTERRUPTED and removes the partial file', async () => {
    const { docker } = fakeEngine([idA]);
    const controller = new AbortController();
    const saving = saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir, {
      signal: controller.signal,
    });
    setImmediate(() => controller.abort());
    await assert.rejects(saving, code('INTERRUPTED'));
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), []);
  });

  test("a killed run's partial file is removed first; one that is a link is not followed", async () => {
    const outside = path.join(path.dirname(kitDir), 'outside');
    await writeFile(outside, 'not the drive');
    await mkdir(path.join(kitDir, 'images'));
    await symlink(outside, path.join(kitDir, 'images', `.${'a'.repeat(64)}.tar.gz.partial`));
    await symlink(outside, imageFile(idA)); // a planted link under the final name too
    const result = await saveKitImages(
      fakeEngine([idA]).docker,
      [{ reference: 'db:17', id: idA }],
      kitDir,
    );
    assert.equal(result.saved.length, 1);
    assert.equal(await readFile(outside, 'utf8'), 'not the drive');
    assert.ok((await lstat(imageFile(idA))).isFile());
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), [`${'a'.repeat(64)}.tar.gz`]);
  });

  test('an images folder that is a symlink is refused, and nothing is written through it', async () => {
    const elsewhere = path.join(path.dirname(kitDir), 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, path.join(kitDir, 'images'));
    await assert.rejects(
      saveKitImages(fakeEngine([idA]).docker, [{ reference: 'db:17', id: idA }], kitDir),
      (error: unknown) => {
        assert.ok(isAgentError(error, 'RESTORE_KIT_FAILED'));
        assert.match(error.message, /images is a symlink/);
        return true;
      },
    );
    assert.deepEqual(await readdir(elsewhere), []);
  });

  test('a kit folder that is a symlink is refused', async () => {
    const link = path.join(path.dirname(kitDir), 'kit-link');
    await symlink(kitDir, link);
    await assert.rejects(
      saveKitImages(fakeEngine([idA]).docker, [{ reference: 'db:17', id: idA }], link),
      code('RESTORE_KIT_FAILED'),
    );
  });

  test('an image that does not fit in the free space, or is gone, is skipped with the reason', async () => {
    const { docker, calls } = fakeEngine([idA]);
    const images = [
      { reference: 'db:17', id: idA, bytes: 3e9 },
      { reference: 'gone:1', id: idB },
    ];
    const result = await saveKitImages(docker, images, kitDir, {
      freeBytes: () => Promise.resolve(1.2e9),
    });
    assert.deepEqual(result.skipped, [
      { id: idA, reason: 'needs about 3.0 GB, the drive has 1.2 GB free' },
      { id: idB, reason: 'the image is no longer on this machine' },
    ]);
    assert.deepEqual(calls.save, []);
    const roomy = await saveKitImages(docker, images.slice(0, 1), kitDir, {
      freeBytes: () => Promise.resolve(4e9),
    });
    assert.equal(roomy.saved.length, 1);
  });
});

describe('loadKitImage', () => {
  async function kitWith(content: string, id = idA) {
    await mkdir(path.join(kitDir, 'images'), { recursive: true });
    const { gzipSync } = await import('node:zlib');
    await writeFile(imageFile(id), gzipSync(content));
  }

  test('an image already here is not loaded again, and its reference is pointed at it', async () => {
    const { docker, calls } = fakeEngine([idA]);
    const result = await loadKitImage(docker, kitDir, { reference: 'db:17', id: idA, saved: null });
    assert.equal(result, 'already-here');
    assert.equal(calls.load, 0);
    assert.deepEqual(calls.tag, [`${idA} db:17`]);
  });

  test('an image the kit holds is loaded and tagged with its reference', async () => {
    await kitWith(line(idA));
    const { docker, images } = fakeEngine([]);
    const result = await loadKitImage(docker, kitDir, {
      reference: 'ghcr.io/immich/db:17',
      id: idA,
      saved: savedImageName(idA),
    });
    assert.equal(result, 'loaded');
    assert.deepEqual(images.get(idA)?.repoTags, ['ghcr.io/immich/db:17']);
  });

  test('a saved file that loads as another image is refused, and the reference is put back', async () => {
    await kitWith(`${line(idB)}tag db:17\n`); // an impostor that also claims the reference
    const idC = `sha256:${'c'.repeat(64)}`;
    const { docker, images } = fakeEngine([idC]);
    images.get(idC)?.repoTags.push('db:17');
    await assert.rejects(
      loadKitImage(docker, kitDir, { reference: 'db:17', id: idA, saved: savedImageName(idA) }),
      (error: unknown) => {
        assert.ok(isAgentError(error, 'RESTORE_FAILED'));
        assert.match(error.message, /is not the image db:17/);
        return true;
      },
    );
    assert.deepEqual(images.get(idC)?.repoTags, ['db:17']);
    assert.deepEqual(images.get(idB)?.repoTags, []);
  });

  test('an image neither here nor in the kit is IMAGE_MISSING, naming what to pull', async () => {
    const image = {
      reference: 'db:17',
      id: idA,
      saved: null,
      repoDigests: ['db@sha256:' + 'd'.repeat(64)],
    };
    await assert.rejects(loadKitImage(fakeEngine([]).docker, kitDir, image), (error: unknown) => {
      assert.ok(isAgentError(error, 'IMAGE_MISSING'));
      assert.match(error.hint ?? '', /docker pull db@sha256:d{64}/);
      return true;
    });
  });

  test('a saved file that is a symlink is not followed and nothing is loaded', async () => {
    const outside = path.join(path.dirname(kitDir), 'outside.tar.gz');
    await writeFile(outside, 'x');
    await mkdir(path.join(kitDir, 'images'));
    await symlink(outside, imageFile(idA));
    const { docker, calls } = fakeEngine([]);
    await assert.rejects(
      loadKitImage(docker, kitDir, { reference: 'db:17', id: idA, saved: savedImageName(idA) }),
      (error: unknown) => {
        assert.ok(isAgentError(error, 'RESTORE_FAILED'));
        assert.match(error.message, /is a symlink/);
        return true;
      },
    );
    assert.equal(calls.load, 0);
  });
});

test('a reference names the repository and tag docker tag takes', () => {
  const cases: [string, { repository: string; tag: string } | null][] = [
    [
      'ghcr.io/immich-app/immich-server:v2.7.5',
      { repository: 'ghcr.io/immich-app/immich-server', tag: 'v2.7.5' },
    ],
    ['localhost:5000/postgres', { repository: 'localhost:5000/postgres', tag: 'latest' }],
    [
      `ghcr.io/immich-app/postgres:14@sha256:${'e'.repeat(64)}`,
      { repository: 'ghcr.io/immich-app/postgres', tag: '14' },
    ],
    [`postgres@sha256:${'e'.repeat(64)}`, null],
  ];
  for (const [reference, expected] of cases)
    assert.deepEqual(tagOf(reference), expected, reference);
});
