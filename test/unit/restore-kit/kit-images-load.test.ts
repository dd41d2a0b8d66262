import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadedImagesOf } from '../../../src/adapters/docker-images.js';
import { isAgentError } from '../../../src/errors.js';
import { loadKitImage, taggedName } from '../../../src/restore-kit/kit-images.js';
import { savedImageName } from '../../../src/restore-kit/kit-manifest.js';
import {
  fakeEngine,
  idA,
  idB,
  imageFileIn,
  line,
  makeKitDir,
  removeKitDir,
} from './kit-images-engine.js';

let kitDir: string;
beforeEach(async () => {
  kitDir = await makeKitDir();
});
afterEach(() => removeKitDir(kitDir));

const imageFile = (id: string) => imageFileIn(kitDir, id);

describe('loadKitImage', () => {
  async function kitWith(content: string, id = idA) {
    await mkdir(path.join(kitDir, 'images'), { recursive: true });
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

  test('a saved file with the recorded image and another image beside it is refused', async () => {
    await kitWith(`${line(idA)}${line(idB)}tag other:1\n`);
    const { docker, calls } = fakeEngine([]);
    await assert.rejects(
      loadKitImage(docker, kitDir, { reference: 'db:17', id: idA, saved: savedImageName(idA) }),
      (error: unknown) => {
        assert.ok(isAgentError(error, 'RESTORE_FAILED'));
        assert.match(error.message, /is not the image db:17 .*it also loaded other:1/);
        return true;
      },
    );
    assert.deepEqual(calls.tag, [], 'the reference is not pointed at a refused load');
  });

  test('a stopped restore loads nothing and says INTERRUPTED', async () => {
    await kitWith(line(idA));
    const { docker, calls } = fakeEngine([]);
    const image = { reference: 'db:17', id: idA, saved: savedImageName(idA) };
    const signal = AbortSignal.abort();
    await assert.rejects(loadKitImage(docker, kitDir, image, { signal }), (error: unknown) =>
      isAgentError(error, 'INTERRUPTED'),
    );
    assert.equal(calls.load, 0);
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
      assert.match(error.hint ?? '', /docker pull 'db@sha256:d{64}'/);
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

test("the engine's answer to a load says what it loaded; an error line fails it", () => {
  const id = `sha256:${'f'.repeat(64)}`;
  const answer = [
    JSON.stringify({ stream: `Loaded image ID: ${id}\n` }),
    JSON.stringify({ stream: 'Loaded image: ghcr.io/immich-app/postgres:14\n' }),
    JSON.stringify({ status: 'Loading layer', progress: '[==>  ]' }),
  ].join('\r\n');
  assert.deepEqual(loadedImagesOf(answer), {
    ids: [id],
    references: ['ghcr.io/immich-app/postgres:14'],
  });
  assert.throws(
    () => loadedImagesOf(JSON.stringify({ error: 'x', errorDetail: { message: 'bad tar' } })),
    /bad tar/,
  );
});

test('a reference names the name:tag that docker tag points, without a digest', () => {
  const digest = `sha256:${'e'.repeat(64)}`;
  const cases: [string, string | null][] = [
    ['ghcr.io/immich-app/immich-server:v2.7.5', 'ghcr.io/immich-app/immich-server:v2.7.5'],
    ['localhost:5000/postgres', 'localhost:5000/postgres:latest'],
    [`ghcr.io/immich-app/postgres:14@${digest}`, 'ghcr.io/immich-app/postgres:14'],
    [`postgres@${digest}`, null],
  ];
  for (const [reference, expected] of cases)
    assert.equal(taggedName(reference), expected, reference);
});
