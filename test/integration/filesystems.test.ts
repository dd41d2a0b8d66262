import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chown, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { keepsPermissions, whyNotStorable } from '../../src/adapters/filesystem-types.js';
import { localDate } from '../../src/format.js';
import { isRunning } from '../env/containers.js';
import { driveFilesystems } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** Can the unprivileged user "nobody" read this file? (It must not, for the dump and .env.) */
async function nobodyCanRead(file: string): Promise<boolean> {
  const result = await execa(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'head', '-c', '1', '--', file],
    { reject: false },
  );
  return result.exitCode === 0;
}

/** The library's owner, as Immich installs run with PUID/PGID set have it. */
const owner = { uid: 1000, gid: 1000 };

async function chownTree(folder: string): Promise<void> {
  await execa('chown', ['-R', `${owner.uid}:${owner.gid}`, '--', folder]);
}

// The whole life of a backup on each filesystem a drive may carry; FUSE drivers stand in where
// this kernel has none (exfat-fuse, ntfs-3g, fusefat), as they do on many machines.
for (const fsType of driveFilesystems) {
  describe(`a backup drive formatted ${fsType}`, () => {
    let sandbox: Sandbox;
    let bed: ImmichBed;
    const permissions = keepsPermissions(fsType);
    // exFAT and vfat refuse `"` and control characters, which the test library's names hold;
    // ntfs-3g stores them (NTFS's POSIX namespace), the POSIX filesystems store anything.
    const refusesNames = fsType === 'exfat' || fsType === 'vfat';
    const dumpName = `immich-db-${localDate(new Date())}.sql.gz`;

    before(async () => {
      sandbox = await createSandbox();
      bed = await createImmichBed(sandbox, { fsType, assets: 300 });
      await chownTree(bed.libraryDir);
    });
    after(async () => {
      await sandbox?.dispose();
    });

    test('the first run backs up everything the drive can store and names, in the record, every file it cannot', async () => {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.drive?.filesystemType, fsType, 'the filesystem, not the FUSE driver');
      assert.deepEqual(record.config?.files.sort(), ['.env', 'docker-compose.yml']);
      assert.equal(await isRunning(bed.server), true);

      const library = await snapshotTree(bed.libraryDir);
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        const backup = path.join(root, 'immich-backup');
        const onDrive = await snapshotTree(path.join(backup, 'files'));
        for (const [name, hash] of onDrive)
          assert.equal(hash, library.get(name), `${name} is the library's, byte for byte`);
        const leftOut = [...library.keys()].filter((name) => !onDrive.has(name)).sort();
        assert.deepEqual(
          [...(record.files?.notStored?.names ?? [])].sort(),
          leftOut,
          'every file left out is named in the record',
        );
        assert.equal(record.files?.notStored?.files ?? 0, leftOut.length);
        const forbidden = [...library.keys()].filter(
          (name) => whyNotStorable(name, fsType) !== null,
        );
        if (refusesNames) {
          assert.ok(forbidden.length >= 2, 'the library holds names this drive refuses');
          for (const name of forbidden) assert.ok(leftOut.includes(name), `${name} left out`);
          assert.equal(record.outcome, 'warning', record.message);
          assert.ok(
            record.warnings.some((warning) => warning.includes('could not be stored')),
            record.warnings.join('\n'),
          );
        } else {
          assert.deepEqual(leftOut, [], 'this drive stores every file of the library');
          assert.equal(record.outcome, 'success', record.message);
        }
        assert.ok(existsSync(path.join(backup, dumpName)));
        assert.equal(
          await readFile(path.join(backup, '.env'), 'utf8'),
          await readFile(path.join(bed.appDir, '.env'), 'utf8'),
        );
      });
    });

    test('mounted the way the agent mounts it, only root can read the dump and .env', async () => {
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        const backup = path.join(root, 'immich-backup');
        for (const file of [dumpName, '.env']) {
          assert.equal(await nobodyCanRead(path.join(backup, file)), false, `${file} is private`);
          const info = await stat(path.join(backup, file));
          assert.equal(info.uid, 0, `${file} belongs to root`);
          assert.equal(info.mode & 0o077, 0, `${file}: no rights for group or others`);
        }
      });
    });

    test('a second run copies nothing', async () => {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, refusesNames ? 'warning' : 'success', record.message);
      assert.equal(
        record.files?.transferredFiles,
        0,
        `nothing new or changed was copied: ${JSON.stringify(record.files)}\n${result.stdout}`,
      );
      assert.equal(record.files?.versionedFiles, 0, 'and nothing was versioned');
    });

    test('a photo that changes keeps its previous copy in versions/', async () => {
      const photo = path.join(
        bed.libraryDir,
        'upload',
        '3f1c9a7e-1111-4222-8333-444455556666',
        '00',
        'IMG_0.jpg',
      );
      const before = await readFile(photo);
      await writeFile(photo, Buffer.concat([before, Buffer.from('edited')]));
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.files?.versionedFiles, 1, record.message);
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        const backup = path.join(root, 'immich-backup');
        const relative = path.relative(bed.libraryDir, photo);
        assert.deepEqual(
          await readFile(path.join(backup, 'files', relative)),
          await readFile(photo),
        );
        assert.deepEqual(
          await readFile(path.join(backup, record.files?.versionsDir ?? 'versions/?', relative)),
          before,
          'the previous copy is kept',
        );
      });
    });

    test('verify finds the backup good, naming what the drive cannot store', async () => {
      const result = await bed.run('verify');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      if (refusesNames) assert.match(result.stdout, /cannot store/);
    });

    test('restore brings a lost photo back with the library’s owner and plain modes', async () => {
      // A name every filesystem (and every driver here) takes.
      const lost = path.join(
        bed.libraryDir,
        'upload',
        '3f1c9a7e-1111-4222-8333-444455556666',
        'ab',
        'cd',
        'IMG 0001.JPG',
      );
      const content = await readFile(lost);
      const originalMode = (await stat(lost)).mode & 0o7777;
      await rm(lost);
      await chown(bed.libraryDir, owner.uid, owner.gid);
      const result = await bed.run('restore', '--files-only', '--yes');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      assert.deepEqual(await readFile(lost), content);
      const info = await stat(lost);
      assert.deepEqual({ uid: info.uid, gid: info.gid }, owner, 'the library’s owner');
      assert.equal(
        info.mode & 0o7777,
        permissions ? originalMode : 0o644,
        permissions ? 'the mode it had' : 'a plain file mode, not the drive’s made-up one',
      );
      const folder = await stat(path.dirname(lost));
      assert.deepEqual({ uid: folder.uid, gid: folder.gid }, owner);
      assert.equal(await isRunning(bed.server), true);
    });
  });
}
