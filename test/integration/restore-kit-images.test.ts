import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chown, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { bundleAgent, bundleFile } from '../../scripts/bundle.js';
import { parseKitManifest, savedImageName } from '../../src/restore-kit/kit-manifest.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** The id of the image a container runs. */
async function imageIdOf(container: string): Promise<string> {
  return (await execa('docker', ['inspect', '--format', '{{.Image}}', container])).stdout.trim();
}

describe('restoreKit.images: the exact images the backup ran with, on the drive once per id', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  /** The image files in the kit, with inode and size. */
  const imagesOnDrive = (): Promise<Record<string, { ino: number; size: number }>> =>
    withDriveMounted(sandbox, bed.drive, async (root) => {
      const folder = path.join(root, 'immich-backup', 'restore-kit', 'images');
      const found: Record<string, { ino: number; size: number }> = {};
      for (const name of await readdir(folder)) {
        const info = await stat(path.join(folder, name));
        found[`images/${name}`] = { ino: info.ino, size: info.size };
      }
      return found;
    });

  before(async () => {
    sandbox = await createSandbox();
    if (!existsSync(bundleFile)) await bundleAgent();
    // The space check counts an image at its unpacked size (PostgreSQL's is about 480 MB).
    bed = await createImmichBed(sandbox, { photos: 2, assets: 30, driveSizeMb: 900 });
    await bed.writeConfig({
      schedule: { syncWindowSeconds: 0 },
      restoreKit: { images: true },
    });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a backup saves the server and database images once per id, named in restore-kit.json', async () => {
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', JSON.stringify([record.warnings, record.errors]));
    const databaseId = await imageIdOf(bed.database);
    const serverId = await imageIdOf(bed.server);
    // The bed's server stand-in runs the database's image: one id, saved once.
    const ids = [...new Set([databaseId, serverId])];
    assert.equal(record.restoreKit?.images?.saved, ids.length);
    assert.ok((record.restoreKit?.images?.bytesWritten ?? 0) > 10_000_000);
    const files = await imagesOnDrive();
    assert.deepEqual(Object.keys(files).sort(), ids.map(savedImageName).sort());
    const manifest = await withDriveMounted(sandbox, bed.drive, async (root) =>
      parseKitManifest(
        await readFile(path.join(root, 'immich-backup', 'restore-kit', 'restore-kit.json'), 'utf8'),
      ),
    );
    assert.ok(!('problem' in manifest), JSON.stringify(manifest));
    assert.equal(manifest.images.database?.saved, savedImageName(databaseId));
    assert.equal(manifest.images.server?.saved, savedImageName(serverId));
  });

  test('the next backup saves no image again: the files are the same ones', async () => {
    const before = await imagesOnDrive();
    const run = await bed.run('run', '--force');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    const record = await bed.lastRun();
    const ids = new Set([await imageIdOf(bed.database), await imageIdOf(bed.server)]);
    assert.deepEqual(record.restoreKit?.images, { saved: 0, present: ids.size, bytesWritten: 0 });
    assert.deepEqual(await imagesOnDrive(), before);
  });

  test('a file the agent did not write under an image name is saved again; the folder is root’s', async () => {
    const databaseId = await imageIdOf(bed.database);
    const name = savedImageName(databaseId);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const kitDir = path.join(root, 'immich-backup', 'restore-kit');
      await writeFile(path.join(kitDir, name), 'not an image, planted on the drive');
      await chown(path.join(kitDir, 'images'), 1000, 1000);
    });
    const run = await bed.run('run', '--force');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', JSON.stringify([record.warnings, record.errors]));
    assert.equal(record.restoreKit?.images?.saved, 1);
    const files = await imagesOnDrive();
    assert.ok((files[name]?.size ?? 0) > 10_000_000, JSON.stringify(files));
    const owner = await withDriveMounted(sandbox, bed.drive, async (root) => {
      const info = await stat(path.join(root, 'immich-backup', 'restore-kit', 'images'));
      return [info.uid, info.gid];
    });
    assert.deepEqual(owner, [0, 0]);
  });
});
