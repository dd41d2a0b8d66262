import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { pino } from 'pino';
import { createDriveAdapter } from '../../src/adapters/drive.js';
import { readMountinfo } from '../../src/adapters/mountinfo.js';
import { createProcessGateway } from '../../src/adapters/process.js';
import { AgentError } from '../../src/errors.js';
import { isRunning } from '../env/containers.js';
import { createLoopDrive } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { isMountPoint, withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

const adapter = () =>
  createDriveAdapter(createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] }));

/** Every file under a folder, as relative paths (an empty list: nothing was written there). */
async function filesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true }))
    found.push(path.relative(folder, path.join(entry.parentPath, entry.name)));
  return found.sort();
}

/**
 * "On the drive" is proved by the identity of the mount the agent made (its mount id), never by
 * a mount's name; the drive is mounted nosymfollow, and a drive someone else mounted is worked
 * on through the agent's own private view of it. Each test performs the attack on a real loop
 * drive, with the real engine and rsync, and shows Immich runs afterwards.
 */
describe('the drive is proved by the mount the agent made, not by names', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const outside = (): string => path.join(bed.root, 'outside');

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    await mkdir(path.join(bed.root, 'outside'), { recursive: true });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a tmpfs named like the drive at drive.mountPoint gets nothing, with a clear reason', async () => {
    await mkdir(bed.mountPoint, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '--', bed.drive.device, bed.mountPoint]);
    try {
      const run = await bed.run('run');
      assert.equal(run.exitCode, 1, run.stdout + run.stderr);
      const record = await bed.lastRun();
      assert.equal(record.reason, 'DRIVE_MISMATCH');
      assert.match(run.stdout + run.stderr, /Another filesystem \(\S+, tmpfs\) is mounted at/);
      assert.deepEqual(await filesUnder(bed.mountPoint), [], 'nothing was written to the tmpfs');
    } finally {
      await execa('umount', ['--', bed.mountPoint]);
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('a tmpfs named like the drive over the backup folder, inside the drive, is another mount: refused, and runs do not write to it', async () => {
    // The proof itself, on the mount the agent's adapter makes: by mount id, not by name.
    const folder = sandbox.path('proof-mount');
    await mkdir(folder);
    const drive = adapter();
    const mounted = await drive.mount(await drive.locate(bed.drive.uuid), folder);
    const backupDir = path.join(folder, 'immich-backup');
    try {
      await mkdir(backupDir, { recursive: true });
      await drive.proveOnDrive(backupDir, mounted);
      await execa('mount', ['-t', 'tmpfs', '--', bed.drive.device, backupDir]);
      await assert.rejects(
        drive.proveOnDrive(backupDir, mounted),
        (error: unknown) =>
          error instanceof AgentError &&
          error.code === 'DRIVE_MISMATCH' &&
          /tmpfs/.test(error.message),
      );
      await execa('umount', ['--', backupDir]);
    } finally {
      await drive.unmount(folder);
    }
    // A run, with the drive mounted by someone else and the tmpfs over its backup folder: the
    // agent's private view holds that mount alone, so the copy lands on the drive, not in tmpfs.
    const automount = path.join(bed.root, 'run', 'media', 'gonzalo', 'TMPFS OVER');
    await bed.drive.mountAt(automount);
    const shadowed = path.join(automount, 'immich-backup');
    await mkdir(shadowed, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '--', bed.drive.device, shadowed]);
    try {
      const run = await bed.run('run');
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);
      assert.deepEqual(await filesUnder(shadowed), [], 'the tmpfs got nothing');
      await execa('umount', ['--', shadowed]);
      assert.ok(existsSync(path.join(shadowed, 'files', 'upload')), 'the copy is on the drive');
    } finally {
      await bed.drive.unmountAll();
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('a symlink planted on the drive is not followed: not by the run, nor by the kernel on the agent’s mount', async () => {
    const target = path.join(outside(), 'planted-target');
    await mkdir(target, { recursive: true });
    await mkdir(path.join(bed.libraryDir, 'upload', 'planted'), { recursive: true });
    await writeFile(path.join(bed.libraryDir, 'upload', 'planted', 'photo.jpg'), 'photo');
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const upload = path.join(root, 'immich-backup', 'files', 'upload');
      await mkdir(upload, { recursive: true });
      await symlink(target, path.join(upload, 'planted'));
      await symlink(target, path.join(root, 'immich-backup', 'files', 'shortcut'));
    });
    const run = await bed.run('run');
    assert.deepEqual(await filesUnder(target), [], 'nothing was written through the symlink');
    assert.ok(run.exitCode === 0 || run.exitCode === 1, run.stdout + run.stderr);
    // The mount the agent makes is nosymfollow: the kernel itself refuses the planted link.
    const folder = sandbox.path('symlink-mount');
    await mkdir(folder);
    const drive = adapter();
    await drive.mount(await drive.locate(bed.drive.uuid), folder);
    try {
      const link = path.join(folder, 'immich-backup', 'files', 'shortcut');
      assert.equal(await readlink(link), target, 'the link is there');
      await assert.rejects(writeFile(path.join(link, 'x'), 'x'), { code: 'ELOOP' });
      await assert.rejects(readdir(link), { code: 'ELOOP' });
      const entry = (await readMountinfo()).find((mount) => mount.mountPoint === folder);
      assert.ok(entry?.options.includes('nosymfollow') && entry.options.includes('noexec'));
    } finally {
      await drive.unmount(folder);
    }
    assert.deepEqual(await filesUnder(target), []);
    assert.equal(await isRunning(bed.server), true);
  });

  test('a drive mounted by the desktop is worked on through a private bind, and that mount is left as it was', async () => {
    const automount = path.join(bed.root, 'run', 'media', 'gonzalo', 'DESKTOP');
    await bed.drive.mountAt(automount);
    try {
      const desktop = (await readMountinfo()).find((entry) => entry.mountPoint === automount);
      assert.ok(desktop && !desktop.options.includes('nosymfollow'), 'the desktop follows links');
      await writeFile(path.join(bed.libraryDir, 'upload', 'new-photo.jpg'), 'new');
      const run = await bed.run('run');
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);
      const privateView = path.join(bed.stateDir, 'mnt', bed.drive.uuid);
      const events = run.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; workingThrough?: string });
      const bound = events.find((event) => event.workingThrough !== undefined);
      assert.match(bound?.msg ?? '', /working through a private view of it at/);
      assert.equal(bound?.workingThrough, privateView, 'the view is in root’s state folder');
      const record = await bed.lastRun();
      assert.equal(record.drive?.mountPoint, automount, 'the record names the desktop’s mount');
      assert.equal(record.drive?.mountedByAgent, false);
      const now = (await readMountinfo()).find((entry) => entry.mountPoint === automount);
      assert.deepEqual(now, desktop, 'the desktop’s mount is as it was');
      assert.equal(await isMountPoint(privateView), false, 'the bind is gone');
      assert.equal(existsSync(privateView), false);
      const mnt = await lstat(path.join(bed.stateDir, 'mnt'));
      assert.equal(mnt.mode & 0o777, 0o700);
      assert.equal(mnt.uid, 0);
      assert.equal(
        await readFile(
          path.join(automount, 'immich-backup', 'files', 'upload', 'new-photo.jpg'),
          'utf8',
        ),
        'new',
      );
    } finally {
      await bed.drive.unmountAll();
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('a drive.mountPoint that is a symlink, goes through one, or lies in a user’s folder is refused and never mounted', async () => {
    const real = path.join(outside(), 'real-mount-point');
    await mkdir(real, { recursive: true });
    const linked = path.join(bed.root, 'linked-mount-point');
    await symlink(real, linked);
    const linkedParent = path.join(bed.root, 'linked-parent');
    await symlink(outside(), linkedParent);
    // A folder of a user's: they could rename it away and put a symlink in its place.
    const usersFolder = path.join(bed.root, 'users-folder');
    await mkdir(path.join(usersFolder, 'Backup'), { recursive: true });
    await execa('chown', ['1000:1000', '--', usersFolder]);
    try {
      for (const [mountPoint, why] of [
        [linked, /goes through a symlink/],
        [path.join(linkedParent, 'Backup'), /goes through a symlink/],
        [path.join(usersFolder, 'Backup'), /someone other than root can rename or replace/],
      ] as const) {
        await bed.writeConfig({ drive: { mountPoint } });
        const run = await bed.run('run');
        assert.equal(run.exitCode, 2, run.stdout + run.stderr);
        assert.equal((await bed.lastRun()).reason, 'CONFIG_INSECURE');
        assert.match(run.stdout + run.stderr, why);
        assert.equal(await isMountPoint(real), false, 'nothing was mounted where it leads');
        assert.equal(await isMountPoint(path.join(usersFolder, 'Backup')), false);
        assert.equal(existsSync(path.join(outside(), 'Backup')), false, 'nor made there');
      }
    } finally {
      await bed.writeConfig();
    }
    assert.equal(await isRunning(bed.server), true);
  });

  test('files/ and the backup folder stay root’s after a run from a library owned by uid 1000', async () => {
    await execa('chown', ['-R', '1000:1000', '--', bed.libraryDir]);
    await execa('chmod', ['0770', '--', bed.libraryDir]);
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      for (const folder of ['immich-backup', 'immich-backup/files']) {
        const status = await lstat(path.join(root, folder));
        assert.deepEqual(
          { uid: status.uid, gid: status.gid, mode: status.mode & 0o7777 },
          { uid: 0, gid: 0, mode: 0o755 },
          folder,
        );
      }
      const upload = await lstat(path.join(root, 'immich-backup', 'files', 'upload'));
      assert.equal(upload.uid, 1000, 'what is inside keeps its owner');
    });
    assert.equal(await isRunning(bed.server), true);
  });
});

describe('the FUSE drivers’ mounts are nosymfollow too', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await createSandbox();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  for (const fsType of ['exfat', 'ntfs', 'vfat'] as const)
    test(`${fsType}: the agent's mount has nosymfollow,nosuid,nodev,noexec whatever the driver kept`, async () => {
      const loop = await createLoopDrive(sandbox, { fsType });
      const folder = sandbox.path(`fuse-${fsType}`);
      await mkdir(folder);
      const drive = adapter();
      const mounted = await drive.mount(await drive.locate(loop.uuid), folder);
      try {
        const entry = (await readMountinfo()).find((mount) => mount.mountPoint === folder);
        assert.equal(entry?.mountId, mounted.mountId);
        for (const flag of ['nosymfollow', 'nosuid', 'nodev', 'noexec'])
          assert.ok(entry?.options.includes(flag), `${flag} in ${entry?.options.join(',')}`);
        if (fsType === 'ntfs') {
          // ntfs-3g stores symlinks: the kernel refuses to follow one on the agent's mount.
          await symlink('/etc', path.join(folder, 'etc-link'));
          await assert.rejects(readdir(path.join(folder, 'etc-link')), { code: 'ELOOP' });
        }
        await mkdir(path.join(folder, 'immich-backup'));
        await drive.proveOnDrive(path.join(folder, 'immich-backup'), mounted);
      } finally {
        await drive.unmount(folder);
        await loop.unmountAll();
      }
    });
});
