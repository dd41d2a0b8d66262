import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { rsyncArguments } from '../../../src/adapters/rsync-arguments.js';
import { AgentError } from '../../../src/errors.js';
import { openLibraryFolder, refusedPlace } from '../../../src/restore/library-folder.js';
import { restoreCopies } from '../../../src/restore/restore-path.js';

describe('where a restore may write', () => {
  const agent = ['/var/lib/agent-state', '/var/log/immich-backup-agent'];
  const cases: Array<[string, string | null]> = [
    ['/', '/'],
    ['/etc', '/etc'],
    ['/etc/cron.d', '/etc'],
    ['/usr/local/bin', '/usr'],
    ['/lib64/x', '/lib64'],
    ['/boot/efi', '/boot'],
    ['/proc/self', '/proc'],
    ['/root/.ssh', '/root'],
    ['/var/spool/cron', '/var/spool'],
    ['/var/lib/agent-state/library', '/var/lib/agent-state'],
    ['/var/lib/immich-backup-agent', '/var/lib/immich-backup-agent'],
    ['/home', '/home'],
    ['/media', '/media'],
    ['/etc/../etc/x', '/etc'],
    ['/home/gonzalo/immich-app/library', null],
    ['/media/gonzalo/Data Main1/library', null],
    ['/srv/immich/library', null],
    ['/etcetera/library', null],
    ['/var/lib/docker/volumes/immich/_data', null],
  ];
  for (const [library, refused] of cases) {
    test(`${library}: ${refused === null ? 'allowed' : `refused (${refused})`}`, () => {
      const verdict = refusedPlace(library, agent);
      assert.equal(verdict === null ? null : verdict.folder, refused);
    });
  }
});

describe('writes into a library its owner may have planted links in', () => {
  let root: string;
  let backupDir: string;
  let libraryDir: string;
  let outside: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'library-writes-'));
    backupDir = path.join(root, 'drive');
    libraryDir = path.join(root, 'library');
    outside = path.join(root, 'outside');
    await mkdir(path.join(backupDir, 'files/upload/x'), { recursive: true });
    await mkdir(path.join(backupDir, 'files/upload/y'), { recursive: true });
    await writeFile(path.join(backupDir, 'files/upload/x/photo.jpg'), 'from the drive');
    await writeFile(path.join(backupDir, 'files/upload/y/photo.jpg'), 'from the drive');
    await writeFile(path.join(backupDir, 'files/upload/set.jpg'), 'setuid on the drive');
    await chmod(path.join(backupDir, 'files/upload/set.jpg'), 0o4755);
    await writeFile(path.join(root, 'secret'), 'root only', { mode: 0o600 });
    await symlink(path.join(root, 'secret'), path.join(backupDir, 'files/upload/secret.jpg'));
    await mkdir(path.join(libraryDir, 'upload'), { recursive: true });
    await mkdir(outside);
    // The library's owner plants a folder link and a file link where the restore writes.
    await symlink(outside, path.join(libraryDir, 'upload/x'));
    await mkdir(path.join(libraryDir, 'upload/y'));
    await symlink(path.join(outside, 'planted'), path.join(libraryDir, 'upload/y/photo.jpg'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('nothing is written or read through a link: a folder link refuses its files, a file link is moved aside as it is', async () => {
    const library = await openLibraryFolder(libraryDir, []);
    let result;
    try {
      result = await restoreCopies(
        backupDir,
        new Map([
          ['upload/x/photo.jpg', 'files/upload/x/photo.jpg'],
          ['upload/y/photo.jpg', 'files/upload/y/photo.jpg'],
          ['upload/set.jpg', 'files/upload/set.jpg'],
          ['upload/secret.jpg', 'files/upload/secret.jpg'],
        ]),
        library,
        { asideName: '.aside', plainModes: false },
      );
    } finally {
      await library.handle.close();
    }
    assert.deepEqual(await readdir(outside), [], 'nothing written outside the library');
    assert.deepEqual(result.refused, [
      { entry: 'upload/x/photo.jpg', why: 'is under upload/x, which is a symlink in the library' },
    ]);
    assert.deepEqual(result.skipped, [{ entry: 'files/upload/secret.jpg', why: 'is a symlink' }]);
    assert.equal(result.restored, 2);
    assert.equal(
      await readFile(path.join(libraryDir, 'upload/y/photo.jpg'), 'utf8'),
      'from the drive',
    );
    assert.equal(
      await readlink(path.join(libraryDir, '.aside/upload/y/photo.jpg')),
      path.join(outside, 'planted'),
    );
    assert.equal((await lstat(path.join(libraryDir, 'upload/set.jpg'))).mode & 0o7777, 0o755);
    await assert.rejects(lstat(path.join(libraryDir, 'upload/secret.jpg')));
  });

  test('a library path with a link on the way is refused before anything is written', async () => {
    const linked = path.join(root, 'linked-library');
    await symlink(outside, path.join(root, 'hop'));
    await assert.rejects(
      openLibraryFolder(path.join(root, 'hop', 'library'), [outside]),
      (error) => {
        assert.ok(error instanceof AgentError);
        assert.equal(error.code, 'CONFIG_INVALID');
        return true;
      },
    );
    await symlink('/etc', linked);
    await assert.rejects(
      openLibraryFolder(path.join(linked, 'cron.d'), []),
      (error) => error instanceof AgentError && /really \/etc\/cron\.d/.test(error.message),
    );
    const missing = path.join(root, 'new', 'library');
    const made = await openLibraryFolder(missing, []);
    await made.handle.close();
    assert.ok((await lstat(missing)).isDirectory(), 'a missing library is made');
    await promisify(execFile)('rm', ['-f', '--', linked, path.join(root, 'hop')]);
  });
});

test('the whole-library restore gives rsync nothing that follows, keeps or makes a symlink, device or setuid bit in the library', () => {
  for (const sourceFilesystemType of ['ext4', 'vfat']) {
    const args = rsyncArguments({
      source: '/drive/immich-backup/files',
      destination: '/proc/1/fd/20',
      filesystemType: 'ext4',
      sourceFilesystemType,
      owner: { uid: 1000, gid: 1000 },
      replacedFilesDir: '.immich-backup-agent-replaced-x',
    });
    const options = args.slice(0, args.indexOf('--'));
    for (const option of options) {
      // Short options bundled (-rtp…) would hide -l, -L, -K or -D: there are none.
      assert.doesNotMatch(option, /^-[^-]/, option);
      assert.doesNotMatch(
        option,
        /^--(archive|links|copy-links|copy-dirlinks|copy-unsafe-links|keep-dirlinks|devices|specials|owner|group|relative|super)$/,
        option,
      );
    }
    assert.ok(options.includes('--chown=1000:1000'), options.join(' '));
    assert.ok(
      options.some((option) => /^--chmod=.*(ug-s|F0644)/.test(option)),
      options.join(' '),
    );
  }
});
