import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  hardwareIdentity,
  identityDifferences,
  type HardwareIdentity,
} from '../../../src/adapters/device-identity.js';
import { repoRoot } from '../../env/cli.js';

const roots: string[] = [];

async function folder(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'iba-identity-'));
  roots.push(root);
  return root;
}

async function put(root: string, relative: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), content);
}

/** A loop device in a sysfs of its own, backed by `backing` (which may not exist). */
async function loopSysfs(name: string, backing: string): Promise<string> {
  const root = await folder();
  await put(root, `devices/virtual/block/${name}/size`, '196608\n');
  await put(root, `devices/virtual/block/${name}/loop/backing_file`, `${backing}\n`);
  await mkdir(path.join(root, 'class/block'), { recursive: true });
  await symlink(`../../devices/virtual/block/${name}`, path.join(root, 'class/block', name));
  return root;
}

describe('what tells one drive from another with the same UUID', () => {
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  test('a USB SSD’s partition: its serial and model (from the USB device), and the partition’s size', async () => {
    const fixture = JSON.parse(
      await readFile(path.join(repoRoot, 'test/fixtures/sysfs/usb3-uas-samsung.json'), 'utf8'),
    ) as { device: string; files: Record<string, string>; links: Record<string, string> };
    const root = await folder();
    for (const [relative, content] of Object.entries(fixture.files))
      await put(root, relative, content);
    const partition = Object.keys(fixture.files)
      .find((file) => file.endsWith('/sdc1/partition'))
      ?.replace(/partition$/, 'size') as string;
    await put(root, partition, '1953521664\n');
    for (const [relative, target] of Object.entries(fixture.links)) {
      await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
      await symlink(target, path.join(root, relative));
    }
    const identity = await hardwareIdentity(fixture.device, root);
    assert.deepEqual(identity, {
      kind: 'usb',
      serial: 'S5SANS0R123456',
      wwn: null,
      model: 'PSSD T7',
      sizeBytes: 1953521664 * 512,
      backingFile: null,
      backingInode: null,
    });
    assert.deepEqual(identityDifferences(identity, { ...identity }), []);
    assert.deepEqual(identityDifferences(identity, { ...identity, serial: 'S5SANS0R999999' }), [
      'serial number S5SANS0R999999 instead of S5SANS0R123456',
    ]);
  });

  test('a loop device is its backing file: a byte-for-byte copy on another loop device is other hardware', async () => {
    const images = await folder();
    const original = path.join(images, 'drive.img');
    const copy = path.join(images, 'copy.img');
    await writeFile(original, 'the same bytes');
    await writeFile(copy, 'the same bytes');
    const pinned = await hardwareIdentity('/dev/loop3', await loopSysfs('loop3', original));
    const info = await stat(original, { bigint: true });
    assert.equal(pinned.kind, 'loop');
    assert.equal(pinned.backingFile, original);
    assert.equal(pinned.backingInode, `${info.dev}:${info.ino}`);
    assert.equal(pinned.sizeBytes, 196608 * 512);
    // The same image on another loop device (unplugged and plugged again) is the same drive.
    const again = await hardwareIdentity('/dev/loop7', await loopSysfs('loop7', original));
    assert.deepEqual(identityDifferences(pinned, again), []);
    const clone = await hardwareIdentity('/dev/loop5', await loopSysfs('loop5', copy));
    const differences = identityDifferences(pinned, clone);
    assert.equal(differences.length, 2, differences.join('; '));
    assert.match(differences.join('; '), /backing file .*copy\.img instead of .*drive\.img/);
  });

  test('a backing file the agent cannot see is compared by name, and refused where the pin has an inode', async () => {
    const unseen = '/nonexistent/iba-test/drive.img';
    const identity = await hardwareIdentity('/dev/loop2', await loopSysfs('loop2', unseen));
    assert.equal(identity.backingInode, null);
    const pinnedHere: HardwareIdentity = { ...identity };
    assert.deepEqual(identityDifferences(pinnedHere, identity), []);
    const pinnedWithInode: HardwareIdentity = { ...identity, backingInode: '2049:12' };
    assert.equal(identityDifferences(pinnedWithInode, identity).length, 1);
    const deleted = await hardwareIdentity(
      '/dev/loop4',
      await loopSysfs('loop4', `${unseen} (deleted)`),
    );
    assert.equal(identityDifferences(pinnedHere, deleted).length, 1, 'a deleted file is another');
  });
});
