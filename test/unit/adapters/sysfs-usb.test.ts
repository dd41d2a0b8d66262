import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  driveIdentity,
  usbSpeedWarning,
  type DriveIdentity,
} from '../../../src/adapters/sysfs-usb.js';
import { repoRoot } from '../../env/cli.js';

interface Fixture {
  device: string;
  files: Record<string, string>;
  links: Record<string, string>;
  expected: DriveIdentity;
}

const roots: string[] = [];

/** Lays a recorded sysfs tree out in a folder of its own: files, then symlinks. */
async function materialise(name: string): Promise<{ root: string; fixture: Fixture }> {
  const fixture = JSON.parse(
    await readFile(path.join(repoRoot, 'test/fixtures/sysfs', name), 'utf8'),
  ) as Fixture;
  const root = await mkdtemp(path.join(tmpdir(), 'iba-sysfs-'));
  roots.push(root);
  for (const [relative, content] of Object.entries(fixture.files)) {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await writeFile(path.join(root, relative), content);
  }
  for (const [relative, target] of Object.entries(fixture.links)) {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await symlink(target, path.join(root, relative));
  }
  return { root, fixture };
}

describe('the hardware behind the drive, from sysfs', () => {
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  test('a USB 2 hard disk: vendor, model, serial, 480 Mb/s, usb-storage, and a warning with the cost', async () => {
    const { root, fixture } = await materialise('usb2-usb-storage-seagate.json');
    const identity = await driveIdentity(fixture.device, root);
    assert.deepEqual(identity, fixture.expected);
    const warning = usbSpeedWarning(identity, 250e9);
    assert.ok(warning);
    assert.match(warning, /USB 2 speed \(480 Mb\/s\)/);
    assert.match(warning, /250\.0 GB\) takes about 119 min instead of about 35 min/);
  });

  test('a USB 3 SSD on uas: identified, no warning', async () => {
    const { root, fixture } = await materialise('usb3-uas-samsung.json');
    const identity = await driveIdentity(fixture.device, root);
    assert.deepEqual(identity, fixture.expected);
    assert.equal(usbSpeedWarning(identity, 250e9), null);
  });

  test('a loop device on this machine is "not a USB device", without a crash or a warning', async () => {
    const identity = await driveIdentity('/dev/loop0');
    assert.equal(identity.usb, false);
    assert.equal(usbSpeedWarning(identity, 1e9), null);
  });

  test('a device sysfs does not know (unplugged, or no /sys at all) is "not a USB device"', async () => {
    assert.equal((await driveIdentity('/dev/sdzz9')).usb, false);
    assert.equal((await driveIdentity('/dev/sdb1', '/nonexistent-sys')).usb, false);
  });
});
