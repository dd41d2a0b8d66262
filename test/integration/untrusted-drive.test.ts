import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { localDate } from '../../src/format.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * The drive is not trusted: whoever had it (or a copy of it) may have written anything on it.
 * Each test plants what an attacker or a broken tool would, and shows the agent neither crashes,
 * hangs nor carries it into the library, and that Immich runs afterwards.
 */
describe('a drive with hostile or broken content on it', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const today = localDate(new Date());

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('malformed metadata (a sidecar of one field, a FIFO for a sidecar, a folder named like a partial dump) is passed over, not a crash or a hang', async () => {
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      const dump = path.join(backup, `immich-db-${today}.sql.gz`);
      await copyFile(dump, path.join(backup, 'immich-db-2020-01-01.sql.gz'));
      await writeFile(path.join(backup, 'immich-db-2020-01-01.json'), '{"verified":true}');
      await copyFile(dump, path.join(backup, 'immich-db-2020-01-02.sql.gz'));
      await execa('mkfifo', ['--', path.join(backup, 'immich-db-2020-01-02.json')]);
      await mkdir(path.join(backup, '.immich-db-2020-01-03.sql.gz.partial-0a1b2c3d'));
    });
    // A FIFO read would block the run for ever with the lock held: the CLI's time limit catches it.
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match((await bed.lastRun()).outcome, /^(success|warning)$/);
    const backups = await bed.run('backups');
    assert.equal(backups.exitCode, 0, backups.stdout + backups.stderr);
    assert.match(backups.stdout, /2020-01-01/);
    const verify = await bed.run('verify', '--date', '2020-01-01');
    assert.equal(verify.exitCode, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /has no sidecar/);
    const plan = await bed.run('restore', '--files-only');
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const info = await lstat(
        path.join(root, 'immich-backup', '.immich-db-2020-01-03.sql.gz.partial-0a1b2c3d'),
      );
      assert.ok(info.isDirectory(), 'what is not the agent’s is left alone');
    });
    assert.equal(await isRunning(bed.server), true);
  });

  test('restore writes only regular files and folders: no setuid bit, device node, FIFO or symlink from the drive reaches the library', async () => {
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const planted = path.join(root, 'immich-backup', 'files', 'upload', 'planted');
      await mkdir(planted, { recursive: true });
      await writeFile(path.join(planted, 'setuid-shell'), '#!/bin/sh\n', { mode: 0o755 });
      await execa('chmod', ['4755', '--', path.join(planted, 'setuid-shell')]);
      await execa('mknod', ['-m', '0666', '--', path.join(planted, 'disk'), 'b', '7', '0']);
      await execa('mkfifo', ['--', path.join(planted, 'pipe')]);
      await symlink('/etc/shadow', path.join(planted, 'shadow'));
    });
    await execa('chown', ['1000:1000', '--', bed.libraryDir]);
    const restore = await bed.run('restore', '--files-only', '--yes');
    assert.equal(restore.exitCode, 0, restore.stdout + restore.stderr);
    const planted = path.join(bed.libraryDir, 'upload', 'planted');
    assert.deepEqual(await readdir(planted), ['setuid-shell'], 'only the regular file');
    const shell = await lstat(path.join(planted, 'setuid-shell'));
    assert.equal(shell.mode & 0o7777, 0o755, 'without its setuid bit');
    assert.deepEqual({ uid: shell.uid, gid: shell.gid }, { uid: 1000, gid: 1000 });
    assert.equal(await isRunning(bed.server), true);
  });

  test('versions/ and the drive’s history as symlinks off the drive: refused before Immich is touched, nothing written off the drive', async () => {
    const offDrive = sandbox.path('on-the-system-disk');
    await mkdir(path.join(offDrive, 'versions'), { recursive: true });
    await mkdir(path.join(offDrive, 'history'), { recursive: true });
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      await execa('rm', ['-rf', '--', path.join(backup, 'versions')]);
      // The history moved aside, not deleted: it holds the token that makes this drive trusted.
      await rename(path.join(backup, '.immich-backup-agent'), path.join(backup, 'history-aside'));
      await symlink(path.join(offDrive, 'versions'), path.join(backup, 'versions'));
      await symlink(path.join(offDrive, 'history'), path.join(backup, '.immich-backup-agent'));
    });
    const photo = path.join(
      bed.libraryDir,
      'upload',
      '3f1c9a7e-1111-4222-8333-444455556666',
      '00',
      'IMG_0.jpg',
    );
    await writeFile(photo, 'changed, so a run would keep the previous copy in versions/');
    const run = await bed.run('run');
    assert.equal(run.exitCode, 1, run.stdout + run.stderr);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'DRIVE_MISMATCH', record.message);
    assert.match(record.message, /symlink/);
    assert.equal(record.server, null, 'Immich was not stopped');
    assert.deepEqual(await readdir(path.join(offDrive, 'versions')), []);
    assert.deepEqual(await readdir(path.join(offDrive, 'history')), []);
    assert.equal(await isRunning(bed.server), true);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      await execa('rm', [
        '--',
        path.join(backup, 'versions'),
        path.join(backup, '.immich-backup-agent'),
      ]);
      await rename(path.join(backup, 'history-aside'), path.join(backup, '.immich-backup-agent'));
    });
  });

  test('prune-versions does not follow a date folder that is a symlink off the drive', async () => {
    const outside = sandbox.path('precious');
    const relative = path.join('upload', '3f1c9a7e-1111-4222-8333-444455556666', '00', 'IMG_1.jpg');
    await mkdir(path.dirname(path.join(outside, relative)), { recursive: true });
    await writeFile(path.join(outside, relative), 'not the agent’s to delete');
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const versions = path.join(root, 'immich-backup', 'versions');
      await mkdir(versions, { recursive: true });
      await symlink(outside, path.join(versions, '2000-01-01'));
    });
    const prune = await bed.run('prune-versions', '--older-than', '1');
    assert.equal(prune.exitCode, 0, prune.stdout + prune.stderr);
    assert.deepEqual(await readdir(path.dirname(path.join(outside, relative))), ['IMG_1.jpg']);
    await withDriveMounted(sandbox, bed.drive, (root) =>
      execa('rm', ['--', path.join(root, 'immich-backup', 'versions', '2000-01-01')]),
    );
  });
});
