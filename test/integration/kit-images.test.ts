import assert from 'node:assert/strict';
import { mkdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { createDockerAdapter } from '../../src/adapters/docker.js';
import { isAgentError } from '../../src/errors.js';
import { loadKitImage, saveKitImages } from '../../src/restore-kit/kit-images.js';
import { savedImageName } from '../../src/restore-kit/kit-manifest.js';
import { ownerLabel } from '../env/containers.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * The restore kit's images against the real engine: tiny images made here (`docker import` of a
 * folder with one file, labelled with the sandbox), saved into a kit folder, removed, and loaded
 * back; a kit file that is another image, and an images folder that is a link, are refused.
 * Every image made or loaded here is removed, also when a test fails.
 */
describe('restore kit images on the real Docker engine', () => {
  let sandbox: Sandbox;
  let kitDir: string;
  /** The record of the files written, in a state folder of the sandbox's. */
  let ledger: { stateDir: string; driveUuid: string };
  const docker = createDockerAdapter();
  const made = new Set<string>();
  const repository = () => `iba-test-${sandbox.id}/tiny`;
  const idOf = async (reference: string) => (await docker.imageInfo(reference))?.id ?? null;

  /** A one-file image under `repository:tag`; its id is removed at the end, whatever tags it has. */
  async function makeImage(tag: string): Promise<string> {
    const folder = sandbox.path('rootfs', tag);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'content'), `image ${tag} of ${sandbox.id}\n`);
    await execa('tar', ['-c', '-f', `${folder}.tar`, '-C', folder, '.']);
    const label = `LABEL ${ownerLabel}=${sandbox.id}`;
    const reference = `${repository()}:${tag}`;
    await execa('docker', ['import', '--change', label, '-', reference], {
      inputFile: `${folder}.tar`,
    });
    const id = await idOf(reference);
    assert.ok(id);
    made.add(id);
    return id;
  }
  const removeImage = (reference: string) => execa('docker', ['rmi', '--force', reference]);

  before(async () => {
    sandbox = await createSandbox();
    kitDir = sandbox.path('restore-kit');
    await mkdir(kitDir);
    ledger = { stateDir: sandbox.path('state'), driveUuid: 'TEST-0001' };
    sandbox.defer('remove the test images', async () => {
      for (const id of made) await execa('docker', ['rmi', '--force', id], { reject: false });
    });
  });
  after(async () => {
    await sandbox.dispose();
    const left = await execa('docker', ['images', '-q', '--filter', `label=${ownerLabel}`]);
    const ours = [...made].filter((id) => left.stdout.includes(id.slice(7, 19)));
    assert.deepEqual(ours, [], 'images made by the test are left');
  });

  test('an image is saved once, and loaded back with its id and its reference', async () => {
    const id = await makeImage('a');
    const reference = `${repository()}:a`;
    const first = await saveKitImages(docker, [{ reference, id }], kitDir, { ledger });
    const file = path.join(kitDir, savedImageName(id));
    assert.deepEqual(
      first.saved.map((entry) => entry.file),
      [savedImageName(id)],
    );
    const saved = await stat(file);
    assert.equal(first.saved[0]?.bytes, saved.size);

    const second = await saveKitImages(docker, [{ reference, id }], kitDir, { ledger });
    assert.deepEqual(second, {
      saved: [],
      present: [{ id, file: savedImageName(id) }],
      skipped: [],
      failed: [],
      held: 1,
    });
    const again = await stat(file);
    assert.deepEqual([again.ino, again.mtimeMs], [saved.ino, saved.mtimeMs]);

    await removeImage(reference);
    assert.equal(await idOf(id), null);
    const image = { reference, id, saved: savedImageName(id) };
    assert.equal(await loadKitImage(docker, kitDir, image), 'loaded');
    assert.equal(await idOf(reference), id);
    assert.equal(await loadKitImage(docker, kitDir, image), 'already-here');
  });

  test('a kit file that is another image is refused, and the reference is not left on it', async () => {
    const recorded = await makeImage('recorded');
    const impostor = await makeImage('impostor');
    const reference = `${repository()}:recorded`;
    // The impostor's tar names the recorded reference, so loading it moves that tag.
    await execa('docker', ['tag', impostor, reference]);
    const recordedFile = path.join(kitDir, savedImageName(recorded));
    await mkdir(path.dirname(recordedFile), { recursive: true });
    await execa('docker', ['save', '--output', sandbox.path('impostor.tar'), reference]);
    await execa('gzip', ['-n', sandbox.path('impostor.tar')]);
    await rename(sandbox.path('impostor.tar.gz'), recordedFile);
    await execa('docker', ['rmi', '--force', recorded, impostor]);
    // Before the load the reference points at an older image; after the refusal it must again.
    const older = await makeImage('older');
    await execa('docker', ['tag', older, reference]);

    const image = { reference, id: recorded, saved: savedImageName(recorded) };
    await assert.rejects(loadKitImage(docker, kitDir, image), (error: unknown) => {
      assert.ok(isAgentError(error, 'RESTORE_FAILED'), String(error));
      assert.match(error.message, /is not the image .*it loaded as another image/);
      return true;
    });
    assert.equal(await idOf(recorded), null);
    assert.equal(await idOf(reference), older);
  });

  test('a kit file with the recorded image and another image beside it is refused', async () => {
    const recorded = await makeImage('genuine');
    const other = await makeImage('other');
    const reference = `${repository()}:genuine`;
    const otherReference = `${repository()}:other`;
    // The genuine image by id (untagged, as the agent saves it) and another, tagged, with it.
    const file = path.join(kitDir, savedImageName(recorded));
    await mkdir(path.dirname(file), { recursive: true });
    const tar = sandbox.path('two.tar');
    await execa('docker', ['save', '--output', tar, recorded, otherReference]);
    await execa('gzip', ['-n', tar]);
    await rename(`${tar}.gz`, file);
    await execa('docker', ['rmi', '--force', recorded, other]);

    const image = { reference, id: recorded, saved: savedImageName(recorded) };
    await assert.rejects(loadKitImage(docker, kitDir, image), (error: unknown) => {
      assert.ok(isAgentError(error, 'RESTORE_FAILED'), String(error));
      assert.match(error.message, new RegExp(`also loaded .*${otherReference}`));
      return true;
    });
    assert.equal(await idOf(reference), null, 'the reference is not pointed at a refused load');
  });

  test('an images folder that is a symlink is refused for saving and for loading', async () => {
    const id = await makeImage('linked');
    const reference = `${repository()}:linked`;
    const linkedKit = sandbox.path('linked-kit');
    const elsewhere = sandbox.path('elsewhere');
    await mkdir(linkedKit);
    await mkdir(elsewhere);
    await saveKitImages(docker, [{ reference, id }], elsewhere, { ledger });
    await symlink(path.join(elsewhere, 'images'), path.join(linkedKit, 'images'));

    await assert.rejects(
      saveKitImages(docker, [{ reference, id }], linkedKit, { ledger }),
      (error: unknown) => isAgentError(error, 'RESTORE_KIT_FAILED'),
    );
    await removeImage(reference);
    const image = { reference, id, saved: savedImageName(id) };
    await assert.rejects(loadKitImage(docker, linkedKit, image), (error: unknown) => {
      assert.ok(isAgentError(error, 'RESTORE_FAILED'));
      assert.match(error.message, /is a symlink/);
      return true;
    });
    assert.equal(await idOf(id), null);
  });
});
