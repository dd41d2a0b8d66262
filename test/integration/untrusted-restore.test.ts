import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { localDate } from '../../src/format.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * A restore reads the drive (not trusted: anyone who had it may have written anything) and
 * writes into the library (not trusted either: its owner, often a normal user, may plant links
 * in it and may set UPLOAD_LOCATION). Each test performs the attack with the real CLI, drive,
 * rsync and containers, and shows that nothing outside the library was read into it or written,
 * that the hostile entry is named, and that Immich runs afterwards.
 */
describe('restore from a hostile drive into a hostile library', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const today = localDate(new Date());
  const yesterday = localDate(new Date(Date.now() - 24 * 60 * 60 * 1000));
  const secret = 'root-only secret: must never reach the library';
  let secretFile: string;

  /** Every regular file of the library (links not followed) that holds the secret. */
  async function secretsInLibrary(folder = bed.libraryDir): Promise<string[]> {
    const found: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) found.push(...(await secretsInLibrary(full)));
      else if (entry.isFile() && (await readFile(full, 'utf8')).includes(secret)) found.push(full);
    }
    return found;
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    secretFile = sandbox.path('root-only-secret');
    await writeFile(secretFile, secret, { mode: 0o600 });
    // The library belongs to a normal user, as Immich's usually does.
    await execa('chown', ['-R', '1000:1000', '--', bed.libraryDir]);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('restore --path --as-of skips symlinks on the drive under files/ and versions/<day>/ and names them; the root-only file never reaches the library', async () => {
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      const files = path.join(backup, 'files', 'upload', 'planted');
      const version = path.join(backup, 'versions', today, 'upload', 'planted');
      await mkdir(files, { recursive: true });
      await mkdir(version, { recursive: true });
      await writeFile(path.join(files, 'good.jpg'), 'a real photo');
      await symlink(secretFile, path.join(files, 'secret.jpg'));
      await writeFile(path.join(files, 'older.jpg'), 'newer copy');
      await symlink(secretFile, path.join(version, 'older.jpg'));
      await symlink(path.dirname(secretFile), path.join(files, 'folder-link'));
    });
    const plan = await bed.run('restore', '--path', 'upload/planted', '--as-of', yesterday);
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    assert.match(
      plan.stdout,
      /Skipped the drive’s files\/upload\/planted\/secret\.jpg: it is a symlink/,
    );
    assert.match(plan.stdout, new RegExp(`Writes into the library folder .*library only`));
    const done = await bed.run(
      'restore',
      '--path',
      'upload/planted',
      '--as-of',
      yesterday,
      '--yes',
    );
    assert.equal(done.exitCode, 0, done.stdout + done.stderr);
    for (const entry of [
      'files/upload/planted/secret.jpg',
      `versions/${today}/upload/planted/older.jpg`,
      'files/upload/planted/folder-link',
    ]) {
      assert.ok(done.stdout.includes(`Skipped the drive’s ${entry}: it is a symlink`), entry);
    }
    assert.match(
      await readFile(bed.logFile, 'utf8'),
      /Skipped the drive’s files\/upload\/planted\/secret\.jpg/,
    );
    const planted = path.join(bed.libraryDir, 'upload', 'planted');
    // The version was a link: not taken; the current copy stands for it (named above).
    assert.deepEqual((await readdir(planted)).sort(), ['good.jpg', 'older.jpg']);
    assert.equal(await readFile(path.join(planted, 'older.jpg'), 'utf8'), 'newer copy');
    const good = await lstat(path.join(planted, 'good.jpg'));
    assert.deepEqual({ uid: good.uid, gid: good.gid }, { uid: 1000, gid: 1000 });
    assert.deepEqual(await secretsInLibrary(), []);

    // The path given is itself the link: nothing restored, named, exit 1.
    const direct = await bed.run(
      'restore',
      '--path',
      'upload/planted/secret.jpg',
      '--as-of',
      yesterday,
      '--yes',
    );
    assert.equal(direct.exitCode, 1, direct.stdout + direct.stderr);
    assert.match(
      direct.stdout,
      /Skipped the drive’s files\/upload\/planted\/secret\.jpg: it is a symlink/,
    );
    assert.deepEqual(await secretsInLibrary(), []);
    assert.equal(await isRunning(bed.server), true);
  });

  test('a symlink planted in the library leads no write outside it: restore --path refuses the files under it, the whole-library restore moves it aside', async () => {
    const outside = sandbox.path('outside-the-library');
    await mkdir(outside);
    await writeFile(path.join(outside, 'precious'), 'not the agent’s to overwrite');
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const files = path.join(root, 'immich-backup', 'files', 'upload');
      await mkdir(path.join(files, 'x'), { recursive: true });
      await writeFile(path.join(files, 'x', 'photo.jpg'), 'photo from the drive');
      await writeFile(path.join(files, 'precious'), 'written through a link');
    });
    // The library's owner plants a folder link and a file link where the restore writes.
    await symlink(outside, path.join(bed.libraryDir, 'upload', 'x'));
    await symlink(path.join(outside, 'precious'), path.join(bed.libraryDir, 'upload', 'precious'));
    await execa('chown', ['-h', '1000:1000', '--', path.join(bed.libraryDir, 'upload', 'x')]);

    const single = await bed.run('restore', '--path', 'upload/x', '--as-of', today, '--yes');
    assert.deepEqual(await readdir(outside), ['precious'], 'nothing written through the link');
    assert.equal(single.exitCode, 1, single.stdout + single.stderr);
    assert.match(
      single.stdout,
      /Refused to write upload\/x\/photo\.jpg: it is under upload\/x, which is a symlink/,
    );

    const whole = await bed.run('restore', '--files-only', '--yes');
    assert.equal(whole.exitCode, 0, whole.stdout + whole.stderr);
    assert.deepEqual(await readdir(outside), ['precious'], 'nothing written outside');
    assert.equal(
      await readFile(path.join(outside, 'precious'), 'utf8'),
      'not the agent’s to overwrite',
    );
    const folder = await lstat(path.join(bed.libraryDir, 'upload', 'x'));
    assert.ok(folder.isDirectory() && !folder.isSymbolicLink(), 'a real folder in its place');
    assert.equal(
      await readFile(path.join(bed.libraryDir, 'upload', 'x', 'photo.jpg'), 'utf8'),
      'photo from the drive',
    );
    const file = await lstat(path.join(bed.libraryDir, 'upload', 'precious'));
    assert.ok(file.isFile());
    assert.deepEqual({ uid: file.uid, gid: file.gid }, { uid: 1000, gid: 1000 });
    // The links themselves are kept aside, as they were.
    const aside = (await readdir(bed.libraryDir)).filter((name) =>
      name.startsWith('.immich-backup-agent-replaced-'),
    );
    const moved = await Promise.all(
      aside.map((name) => lstat(path.join(bed.libraryDir, name, 'upload', 'x')).catch(() => null)),
    );
    assert.ok(
      moved.some((entry) => entry?.isSymbolicLink()),
      'the planted link moved aside',
    );
    assert.deepEqual(await secretsInLibrary(), []);
    assert.equal(await isRunning(bed.server), true);
  });

  test('--path that is absolute or leads out of the library is refused with exit 2', async () => {
    for (const given of ['../../etc', '/etc/passwd', 'upload/../../x', '..']) {
      for (const yes of [[], ['--yes']]) {
        const result = await bed.run('restore', '--path', given, '--as-of', today, ...yes);
        assert.equal(result.exitCode, 2, `${given}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr + result.stdout, /--path/);
      }
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('a library under /etc (UPLOAD_LOCATION in .env) is refused with exit 2, plan or not; nothing is written there', async () => {
    const target = path.join('/etc', `iba-test-${sandbox.id}`, 'library');
    sandbox.defer('remove what a broken restore would have made in /etc', () =>
      execa('rm', ['-rf', '--', path.dirname(target)]).then(() => undefined),
    );
    const appDir = sandbox.path('hostile-app');
    await mkdir(appDir);
    await copyFile(
      path.join(bed.appDir, 'docker-compose.yml'),
      path.join(appDir, 'docker-compose.yml'),
    );
    const env = (await readFile(path.join(bed.appDir, '.env'), 'utf8')).replace(
      /^UPLOAD_LOCATION=.*$/m,
      `UPLOAD_LOCATION=${target}`,
    );
    await writeFile(path.join(appDir, '.env'), env, { mode: 0o600 });
    await bed.writeConfig({ immich: { appDir } });
    try {
      for (const args of [
        ['restore', '--files-only'],
        ['restore', '--files-only', '--yes'],
        ['restore', '--yes'],
        ['restore', '--path', 'upload', '--as-of', today, '--yes'],
      ]) {
        const result = await bed.run(...args);
        assert.equal(result.exitCode, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr + result.stdout, /is in \/etc, a system folder/);
      }
      await assert.rejects(lstat(path.dirname(target)), 'nothing made in /etc');
    } finally {
      await bed.writeConfig();
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('the plan printed without --yes names where the restore writes: the database in its container and the library folder', async () => {
    const plan = await bed.run('restore');
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    const writes = plan.stdout.split('\n').find((line) => line.includes('Writes to:'));
    assert.ok(writes, plan.stdout);
    assert.ok(writes.includes(`in container ${bed.database}`), writes);
    assert.ok(writes.includes(`the library folder ${bed.libraryDir}, owned by 1000:1000`), writes);
    assert.equal(await isRunning(bed.server), true);
  });
});
