import assert from 'node:assert/strict';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLoopDrive, type LoopDrive } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

describe('two drives in rotation', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let second: LoopDrive;
  /** The sysfs path of a drive's device, as the hotplug unit passes it (--device %f). */
  const sysfsOf = async (drive: LoopDrive): Promise<string> =>
    realpath(`/sys/class/block/${path.basename(drive.device)}`);

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 30 });
    second = await createLoopDrive(sandbox, { sizeMb: 96 });
    sandbox.defer('unmount the second drive', () => second.unmountAll());
    await bed.writeConfig({
      drive: { uuid: undefined },
      drives: [
        {
          uuid: bed.drive.uuid,
          label: 'Backup1',
          mountPoint: path.join(bed.root, 'media', 'Backup1'),
        },
        {
          uuid: second.uuid,
          label: 'Backup2',
          mountPoint: path.join(bed.root, 'media', 'Backup2'),
        },
      ] as unknown as Record<string, unknown>,
    });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('each plugged-in drive is backed up to and keeps its own history and due state', async () => {
    const first = await bed.run(
      'run',
      '--trigger',
      'hotplug',
      '--device',
      await sysfsOf(bed.drive),
    );
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.equal((await bed.lastRun()).drive?.uuid, bed.drive.uuid);

    // The other drive has never been backed up to: it is due although the first one is not.
    const other = await bed.run('run', '--trigger', 'hotplug', '--device', await sysfsOf(second));
    assert.equal(other.exitCode, 0, other.stdout + other.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success');
    assert.equal(record.drive?.uuid, second.uuid);
    assert.equal(record.drive?.label, 'Backup2');

    const again = await bed.run(
      'run',
      '--trigger',
      'hotplug',
      '--device',
      await sysfsOf(bed.drive),
    );
    assert.equal(again.exitCode, 0);
    assert.equal((await bed.lastRun()).reason, 'NOT_DUE');

    const status = JSON.parse((await bed.run('status', '--json')).stdout) as {
      drives: { uuid: string; label: string; present: boolean; lastSuccessAt: string }[];
    };
    assert.deepEqual(
      status.drives.map((drive) => [drive.label, drive.present]),
      [
        ['Backup1', true],
        ['Backup2', true],
      ],
    );
    assert.ok(
      Date.parse(status.drives[1]?.lastSuccessAt ?? '') >
        Date.parse(status.drives[0]?.lastSuccessAt ?? ''),
      'each drive has its own last success',
    );
    const human = await bed.run('status');
    assert.match(human.stdout, /Drive Backup1: +attached/);
    assert.match(human.stdout, /Drive Backup2: +attached/);
  });

  test('a manual run with both attached goes to the drive whose last backup is older', async () => {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(
      (await bed.lastRun()).drive?.uuid,
      bed.drive.uuid,
      'Backup1 was backed up to before Backup2',
    );
  });

  test('a plugged-in device that is not a configured drive is left alone', async () => {
    const stranger = await createLoopDrive(sandbox, { sizeMb: 16 });
    const result = await bed.run('run', '--trigger', 'hotplug', '--device', stranger.device);
    assert.equal(result.exitCode, 75, result.stdout + result.stderr);
    assert.equal((await bed.lastRun()).reason, 'DRIVE_ABSENT');
  });
});
