import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isAgentError } from '../../../src/errors.js';
import { saveKitImages } from '../../../src/restore-kit/kit-images.js';
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
/** The record of what was written, in a state folder beside the kit (root's, in the agent). */
let ledger: { stateDir: string; driveUuid: string };
beforeEach(async () => {
  kitDir = await makeKitDir();
  ledger = { stateDir: path.join(path.dirname(kitDir), 'state'), driveUuid: '1234-ABCD' };
});
afterEach(() => removeKitDir(kitDir));

const imageFile = (id: string) => imageFileIn(kitDir, id);
const code = (name: string) => (error: unknown) => isAgentError(error, name as never);

describe('saveKitImages', () => {
  test('saves each image id once, gzip-compressed, even when it is listed twice', async () => {
    const { docker, calls } = fakeEngine([idA, idB]);
    const images = [
      { reference: 'db:17', id: idA },
      { reference: 'server:v2', id: idB },
      { reference: 'db:latest', id: idA },
    ];
    const result = await saveKitImages(docker, images, kitDir, { ledger });
    assert.deepEqual(calls.save, [idA, idB]);
    assert.deepEqual(result.present, []);
    assert.equal(result.held, 2);
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
    await saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir, { ledger });
    const before = await lstat(imageFile(idA));
    const again = await saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir, {
      ledger,
    });
    assert.deepEqual(again, {
      saved: [],
      present: [{ id: idA, file: savedImageName(idA) }],
      skipped: [],
      failed: [],
      held: 1,
    });
    assert.equal(calls.save.length, 1);
    const after = await lstat(imageFile(idA));
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
  });

  test('a save that fails midway leaves no partial file and no image file', async () => {
    const { docker } = fakeEngine([idA], { failAfter: 50 });
    const result = await saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir, {
      ledger,
    });
    const error = result.failed[0]?.error;
    assert.ok(isAgentError(error, 'RESTORE_KIT_FAILED'), String(error));
    assert.match(error.message, /db:17.*the engine hung up/);
    assert.deepEqual([result.saved, result.present, result.held], [[], [], 0]);
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), []);
  });

  test('an abort stops the save as INTERRUPTED and removes the partial file', async () => {
    const { docker } = fakeEngine([idA]);
    const controller = new AbortController();
    const saving = saveKitImages(docker, [{ reference: 'db:17', id: idA }], kitDir, {
      signal: controller.signal,
      ledger,
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
      { ledger },
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
      saveKitImages(fakeEngine([idA]).docker, [{ reference: 'db:17', id: idA }], kitDir, {
        ledger,
      }),
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
      saveKitImages(fakeEngine([idA]).docker, [{ reference: 'db:17', id: idA }], link, { ledger }),
      code('RESTORE_KIT_FAILED'),
    );
  });

  test('a folder under the image file name is skipped; only files the agent wrote are held', async () => {
    await saveKitImages(fakeEngine([idB]).docker, [{ reference: 'old:1', id: idB }], kitDir, {
      ledger,
    });
    await mkdir(imageFile(idA), { recursive: true });
    await writeFile(path.join(kitDir, 'images', `${'9'.repeat(64)}.tar.gz`), 'planted');
    const result = await saveKitImages(
      fakeEngine([idA]).docker,
      [{ reference: 'db:17', id: idA }],
      kitDir,
      { ledger },
    );
    assert.deepEqual(result.skipped, [
      { id: idA, reason: `${savedImageName(idA)} on the drive is a folder` },
    ]);
    assert.equal(result.held, 1);
  });

  test('an image that does not fit in the free space, or is gone, is skipped with the reason', async () => {
    const { docker, calls } = fakeEngine([idA]);
    const images = [
      { reference: 'db:17', id: idA, bytes: 3e9 },
      { reference: 'gone:1', id: idB },
    ];
    const result = await saveKitImages(docker, images, kitDir, {
      freeBytes: () => Promise.resolve(1.2e9),
      ledger,
    });
    assert.deepEqual(result.skipped, [
      { id: idA, reason: 'needs about 3.0 GB, the drive has 1.2 GB free' },
      { id: idB, reason: 'the image is no longer on this machine' },
    ]);
    assert.deepEqual(calls.save, []);
    const roomy = await saveKitImages(docker, images.slice(0, 1), kitDir, {
      freeBytes: () => Promise.resolve(4e9),
      ledger,
    });
    assert.equal(roomy.saved.length, 1);
  });
});
