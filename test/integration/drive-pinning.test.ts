import assert from 'node:assert/strict';
import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { CliResult } from '../env/cli.js';
import { isRunning } from '../env/containers.js';
import { createLoopDrive, type LoopDrive } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * The drive is pinned: a filesystem UUID is world-readable and anyone can make a device with it
 * (a fresh filesystem made with `-U`, a byte-for-byte copy of the stick). Such a device gets
 * nothing (no dump, no .env, no photo, no record), whichever way the run starts; the real drive
 * goes on working, and `drive trust` adopts a replacement only when asked.
 */
describe('an impostor drive with the backup drive’s UUID', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let impostor: LoopDrive;
  /** The impostor's image in a sandbox of its own: its name is made from the UUID. */
  let elsewhere: Sandbox;

  /** Every entry on the device (folders too) and every file's hash. */
  const contents = (drive: { uuid: string }): Promise<string> =>
    withDriveMounted(sandbox, drive as LoopDrive, async (root) =>
      JSON.stringify({
        entries: (await readdir(root, { recursive: true })).sort(),
        files: [...(await snapshotTree(root))].sort(),
      }),
    );

  async function assertRefused(run: CliResult, what: string): Promise<void> {
    assert.equal(run.exitCode, 1, `${what}: ${run.stdout}${run.stderr}`);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'DRIVE_NOT_TRUSTED', `${what}: ${record.message}`);
    assert.match(record.message, /not your backup drive/);
    assert.match(record.hint ?? '', new RegExp(`drive trust --uuid ${bed.drive.uuid}`));
    assert.equal(record.server, null, `${what}: Immich was not stopped`);
    assert.equal(record.database, null, `${what}: no dump`);
    assert.equal(await isRunning(bed.server), true);
  }

  before(async () => {
    sandbox = await createSandbox();
    elsewhere = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    await bed.writeConfig({
      schedule: { syncWindowSeconds: 0 },
      power: { idleShutdown: false },
      notify: { desktop: false },
    });
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.match(await readFile(bed.logFile, 'utf8'), /ADOPTING .* on its first use/);
  });
  after(async () => {
    await elsewhere?.dispose();
    await sandbox?.dispose();
  });

  test('a fresh filesystem made with the UUID gets nothing, by hand, on plug-in and at the weekly window', async () => {
    await bed.drive.detach();
    // The same UUID and the same size: only the hardware behind it (here the image file) differs.
    impostor = await createLoopDrive(elsewhere, { uuid: bed.drive.uuid, sizeMb: 96 });
    const before = await contents(impostor);
    await assertRefused(await bed.run('run'), 'by hand');
    const sysfs = await realpath(`/sys/class/block/${path.basename(impostor.device)}`);
    // As the hotplug unit and the daemon's schedule start it.
    await assertRefused(
      await bed.run('run', '--trigger', 'hotplug', '--force', '--device', sysfs),
      'plug-in',
    );
    await assertRefused(await bed.run('run', '--trigger', 'schedule', '--force'), 'schedule');
    // What reads the drive (into the library and the database, for restore) refuses it too.
    for (const args of [
      ['verify'],
      ['backups'],
      ['restore', '--files-only', '--yes'],
      ['prune-versions', '--older-than', '0'],
    ]) {
      const result = await bed.run(...args);
      assert.equal(result.exitCode, 1, `${args[0]}: ${result.stdout}${result.stderr}`);
      assert.match(result.stdout + result.stderr, /not your backup drive/, String(args[0]));
    }
    assert.equal(await isRunning(bed.server), true);
    assert.equal(await contents(impostor), before, 'nothing was written on the impostor');
    const log = await readFile(bed.logFile, 'utf8');
    assert.match(log, /token|backing file/);
    await impostor.detach();
  });

  test('a byte-for-byte clone of the real drive on another loop device is refused too', async () => {
    const image = sandbox.path('clone.img');
    await execa('cp', ['--sparse=always', '--', bed.drive.image, image]);
    const device = (await execa('losetup', ['--find', '--show', '--', image])).stdout.trim();
    let attached = true;
    const detach = async (): Promise<void> => {
      if (!attached) return;
      await execa('losetup', ['--detach', device]);
      attached = false;
    };
    sandbox.defer(`detach ${device}`, detach);
    const before = await contents(bed.drive);
    const run = await bed.run('run');
    await assertRefused(run, 'a clone');
    assert.match((await bed.lastRun()).message, /backing file/);
    assert.equal(await contents(bed.drive), before, 'nothing was written on the clone');
    await detach();
  });

  test('the real drive keeps working', async () => {
    await bed.drive.reattach();
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match((await bed.lastRun()).outcome, /^(success|warning)$/);
  });

  test('drive trust --dry-run shows the device and changes nothing; drive trust adopts a replacement after showing it', async () => {
    await bed.drive.detach();
    await impostor.reattach();
    const look = await bed.run('drive', 'trust', '--uuid', bed.drive.uuid, '--dry-run');
    assert.equal(look.exitCode, 0, look.stdout + look.stderr);
    assert.match(look.stdout, /loop device/);
    assert.match(look.stdout, /It is other hardware: .*backing file/);
    assert.match(look.stdout, /Nothing was changed/);
    await assertRefused(await bed.run('run'), 'after drive trust --dry-run');

    const adopt = await bed.run('drive', 'trust', '--uuid', bed.drive.uuid);
    assert.equal(adopt.exitCode, 0, adopt.stdout + adopt.stderr);
    assert.match(adopt.stdout, /It is other hardware: .*backing file/, 'shown before adopted');
    assert.match(adopt.stdout, /Adopted /);
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match((await bed.lastRun()).outcome, /^(success|warning)$/);

    // The drive trusted before is now the stranger, until it is adopted again.
    await impostor.detach();
    await bed.drive.reattach();
    await assertRefused(await bed.run('run'), 'the drive replaced');
    const back = await bed.run('drive', 'trust', '--uuid', bed.drive.uuid);
    assert.equal(back.exitCode, 0, back.stdout + back.stderr);
    const again = await bed.run('run');
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
  });
});
