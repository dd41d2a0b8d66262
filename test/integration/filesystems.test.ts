import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { keepsPermissions, whyNotStorable } from '../../src/adapters/filesystem-types.js';
import { localDate } from '../../src/format.js';
import { isRunning, psql } from '../env/containers.js';
import { fingerprint } from '../env/immich-database.js';
import { driveFilesystems } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { isMountPoint, withDriveMounted } from '../env/inspect.js';
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
    // The first run's dump, from its record (not today's date when the file loaded: the suite
    // may run past midnight).
    let dumpName = '';

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
      dumpName = record.database?.file ?? '';
      assert.equal(dumpName, `immich-db-${localDate(new Date(record.startedAt))}.sql.gz`);
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

    test('restore brings the database and a lost photo back, the photo with the library’s owner and plain modes', async () => {
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
      const rows = await fingerprint(bed.database);
      await rm(path.dirname(lost), { recursive: true });
      await psql(bed.database, `DELETE FROM album_asset; DELETE FROM stack; DELETE FROM asset;`);
      const result = await bed.run('restore', '--yes');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      assert.equal(await fingerprint(bed.database), rows, 'every row is back');
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
      assert.equal(folder.mode & 0o777, 0o755, 'a plain folder mode');
      assert.equal(await isRunning(bed.server), true);
    });

    test('restore --path --as-of brings back the photo as it was before it changed', async () => {
      const relative = path.join(
        'upload',
        '3f1c9a7e-1111-4222-8333-444455556666',
        '00',
        'IMG_0.jpg',
      );
      const photo = path.join(bed.libraryDir, relative);
      const edited = await readFile(photo);
      const yesterday = localDate(new Date(Date.now() - 24 * 60 * 60 * 1000));
      await rm(path.dirname(photo), { recursive: true });
      const result = await bed.run('restore', '--path', relative, '--as-of', yesterday, '--yes');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const restored = await readFile(photo);
      assert.deepEqual(restored, edited.subarray(0, edited.length - 'edited'.length));
      const info = await stat(photo);
      assert.deepEqual({ uid: info.uid, gid: info.gid }, owner, 'the library’s owner');
      if (!permissions) assert.equal(info.mode & 0o7777, 0o644);
      const folder = await stat(path.dirname(photo));
      assert.deepEqual({ uid: folder.uid, gid: folder.gid }, owner, 'so is the folder it made');
    });

    test('a drive someone else mounted (a desktop’s automount) is used where it is, and told if others can read it', async () => {
      const folder = sandbox.path('automount');
      await bed.drive.mountAt(folder);
      try {
        const result = await bed.run('run');
        assert.equal(result.exitCode, 0, result.stdout + result.stderr);
        const record = await bed.lastRun();
        assert.equal(record.drive?.mountPoint, folder);
        assert.equal(record.drive?.mountedByAgent, false);
        assert.equal(await isMountPoint(folder), true, 'left mounted, as it was');
        // The FUSE drivers' defaults: every file 0777, for everyone (fusefat's: root's alone).
        const readable = fsType === 'exfat' || fsType === 'ntfs';
        assert.equal(
          record.warnings.some((warning) => warning.includes('users other than root can read')),
          readable,
          record.warnings.join('\n'),
        );
      } finally {
        await bed.drive.unmountAll();
      }
    });
  });
}
