import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isAgentError } from '../../../src/errors.js';
import { saveKitImages } from '../../../src/restore-kit/kit-images.js';
import { savedImageName } from '../../../src/restore-kit/kit-manifest.js';
import {
  brokenTar,
  fakeEngine,
  idA,
  idB,
  imageFileIn,
  makeKitDir,
  removeKitDir,
} from './kit-images-engine.js';

/**
 * The record of the image files the agent wrote (kit-images-state.ts): only a file it wrote,
 * still as it was, counts as saved; anything else under that name is saved again. And the images
 * folder is root's, whoever made it.
 */
let kitDir: string;
let ledger: { stateDir: string; driveUuid: string };
beforeEach(async () => {
  kitDir = await makeKitDir();
  ledger = { stateDir: path.join(path.dirname(kitDir), 'state'), driveUuid: '1234-ABCD' };
});
afterEach(() => removeKitDir(kitDir));

const imageFile = (id: string) => imageFileIn(kitDir, id);
const dbImage = [{ reference: 'db:17', id: idA }];

describe('saveKitImages keeps a record of what it wrote', () => {
  test('a file the agent did not write under the name is saved again, then counts', async () => {
    await mkdir(path.join(kitDir, 'images'));
    await writeFile(imageFile(idA), 'garbage, not an image');
    const { docker, calls } = fakeEngine([idA]);
    const first = await saveKitImages(docker, dbImage, kitDir, { ledger });
    assert.deepEqual(
      first.saved.map((entry) => entry.id),
      [idA],
    );
    assert.notEqual(await readFile(imageFile(idA), 'utf8'), 'garbage, not an image');
    const record = path.join(ledger.stateDir, 'kit-images', '1234-abcd.json');
    assert.equal((await lstat(record)).mode & 0o777, 0o600);
    const kept = JSON.parse(await readFile(record, 'utf8')) as {
      files: Record<string, { bytes: number; sha256: string }>;
    };
    const entry = kept.files[savedImageName(idA).slice('images/'.length)];
    assert.equal(entry?.bytes, (await lstat(imageFile(idA))).size);
    assert.match(entry?.sha256 ?? '', /^[0-9a-f]{64}$/);
    const second = await saveKitImages(docker, dbImage, kitDir, { ledger });
    assert.deepEqual(second.present, [{ id: idA, file: savedImageName(idA) }]);
    assert.deepEqual(calls.save, [idA]);
  });

  test('a file changed after it was written (damaged, replaced) is saved again', async () => {
    const { docker, calls } = fakeEngine([idA]);
    await saveKitImages(docker, dbImage, kitDir, { ledger });
    await writeFile(imageFile(idA), 'a damaged file of another size');
    const again = await saveKitImages(docker, dbImage, kitDir, { ledger });
    assert.deepEqual(
      again.saved.map((entry) => entry.id),
      [idA],
    );
    assert.deepEqual(calls.save, [idA, idA]);
  });

  test('without a record (a new state folder, another drive) the image is saved again once', async () => {
    const { docker, calls } = fakeEngine([idA]);
    await saveKitImages(docker, dbImage, kitDir, { ledger });
    const otherDrive = { ...ledger, driveUuid: '5678-EF01' };
    const other = await saveKitImages(docker, dbImage, kitDir, { ledger: otherDrive });
    assert.equal(other.saved.length, 1);
    await rm(ledger.stateDir, { recursive: true });
    const fresh = await saveKitImages(docker, dbImage, kitDir, { ledger });
    assert.equal(fresh.saved.length, 1);
    const then = await saveKitImages(docker, dbImage, kitDir, { ledger });
    assert.equal(then.present.length, 1);
    assert.deepEqual(calls.save, [idA, idA, idA]);
  });

  test('an images folder someone else owns, or others may write, becomes root’s 0755', async () => {
    const images = path.join(kitDir, 'images');
    await mkdir(images);
    await chown(images, 1000, 1000);
    await chmod(images, 0o777);
    await saveKitImages(fakeEngine([idA]).docker, dbImage, kitDir, { ledger });
    const info = await lstat(images);
    assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [0, 0, 0o755]);
  });

  test('one image that fails to save leaves the others saved and found', async () => {
    const { docker } = fakeEngine([idA, idB]);
    await saveKitImages(docker, dbImage, kitDir, { ledger });
    const saveImage = docker.saveImage.bind(docker);
    docker.saveImage = (reference: string) =>
      reference === idB ? brokenTar() : saveImage(reference);
    const images = [{ reference: 'server:v2', id: idB }, ...dbImage];
    const result = await saveKitImages(docker, images, kitDir, { ledger });
    assert.deepEqual(result.present, [{ id: idA, file: savedImageName(idA) }]);
    assert.equal(result.failed[0]?.id, idB);
    assert.ok(isAgentError(result.failed[0]?.error, 'RESTORE_KIT_FAILED'));
    assert.deepEqual(await readdir(path.join(kitDir, 'images')), [`${'a'.repeat(64)}.tar.gz`]);
  });
});
