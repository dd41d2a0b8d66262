import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { driveWriteError } from '../../../src/adapters/drive-errors.js';
import { createDriveAdapter } from '../../../src/adapters/drive.js';
import { createMountTools } from '../../../src/adapters/mount-tools.js';
import type { BlockFilesystem } from '../../../src/adapters/block-devices.js';
import {
  driverHint,
  keepsPermissions,
  losesTimesOnRename,
  mountDrivers,
  mountOptions,
  whyNotStorable,
} from '../../../src/adapters/filesystem-types.js';
import type { CommandRequest, ProcessGateway } from '../../../src/adapters/process.js';
import { AgentError } from '../../../src/errors.js';

describe('mountOptions: data only, and root only where the filesystem has no permissions', () => {
  for (const type of ['ext4', 'xfs', 'btrfs'])
    test(`${type}: nosymfollow,nosuid,nodev,noexec and its own owners and modes`, () => {
      assert.deepEqual(mountOptions(type), ['nosymfollow', 'nosuid', 'nodev', 'noexec']);
    });
  for (const type of ['vfat', 'exfat', 'ntfs', 'something-unknown'])
    test(`${type}: everything belongs to root, 0700, so the dump and .env are root's alone`, () => {
      assert.deepEqual(mountOptions(type), [
        'nosymfollow',
        'nosuid',
        'nodev',
        'noexec',
        'uid=0',
        'gid=0',
        'umask=077',
      ]);
    });
});

describe('mountDrivers: the kernel first, then FUSE drivers that stand in', () => {
  test('exFAT falls back to exfat-fuse, vfat to fusefat; NTFS tries the read-write drivers first', () => {
    assert.deepEqual(mountDrivers('exfat'), [
      { kind: 'mount', type: 'exfat' },
      { kind: 'mount', type: 'exfat-fuse' },
    ]);
    assert.deepEqual(mountDrivers('vfat'), [{ kind: 'mount', type: 'vfat' }, { kind: 'fusefat' }]);
    assert.deepEqual(
      mountDrivers('ntfs').map((driver) => (driver.kind === 'mount' ? driver.type : driver.kind)),
      ['ntfs3', 'ntfs-3g', 'ntfs'],
    );
  });
  test('ext4 has only its own; a type blkid did not know is left to mount to find', () => {
    assert.deepEqual(mountDrivers('ext4'), [{ kind: 'mount', type: 'ext4' }]);
    assert.deepEqual(mountDrivers('unknown'), [{ kind: 'mount', type: 'auto' }]);
  });
  test('only fusefat is known to lose times on rename', () => {
    assert.equal(losesTimesOnRename('fuse.fusefat'), true);
    assert.equal(losesTimesOnRename('fuseblk'), false);
    assert.equal(losesTimesOnRename('vfat'), false);
  });
});

describe('whyNotStorable: what FAT, exFAT and NTFS refuse; POSIX filesystems take anything', () => {
  const refused = [
    'a/colon:x.jpg',
    'a/what?.jpg',
    'a/star*.jpg',
    'a/<lt.jpg',
    'a/gt>.jpg',
    'a/pipe|.jpg',
    'a/Photo "quoted".jpg',
    'a/back\\slash.jpg',
    'a/line\nbreak.jpg',
    'a/tab\there.jpg',
    'a/trailing dot.',
    'a/trailing space ',
    'bad:dir/inside.jpg',
  ];
  for (const name of refused) {
    test(`${JSON.stringify(name)} cannot be stored on exFAT, and can on ext4`, () => {
      assert.notEqual(whyNotStorable(name, 'exfat'), null);
      assert.equal(whyNotStorable(name, 'ext4'), null);
      assert.equal(keepsPermissions('ext4'), true);
    });
  }
  test('NTFS takes these names (its drivers store them); only what rsync reports is refused', () => {
    for (const name of refused) assert.equal(whyNotStorable(name, 'ntfs'), null, name);
  });
  test('quotes, $(…), emoji and accents are fine everywhere', () => {
    for (const name of [`a/$(touch PWNED) 'q' Ü 📷.jpg`, 'a/.immich', 'a/b.c.jpg'])
      assert.equal(whyNotStorable(name, 'vfat'), null, name);
  });
  test('FAT32 refuses a file of 4 GiB or more; exFAT and NTFS do not', () => {
    assert.match(whyNotStorable('v.mp4', 'vfat', 4 * 1024 ** 3) ?? '', /4 GiB/);
    assert.equal(whyNotStorable('v.mp4', 'vfat', 4 * 1024 ** 3 - 1), null);
    assert.equal(whyNotStorable('v.mp4', 'exfat', 10 * 1024 ** 3), null);
  });
  test('the hint for a missing driver says what to install, not fsck', () => {
    assert.match(driverHint('exfat'), /install .*exfat-fuse/);
    assert.match(driverHint('ntfs'), /ntfs-3g/);
    assert.doesNotMatch(driverHint('exfat'), /fsck/);
  });
});

/** A gateway that answers mount commands from a script and records them. */
function scriptedGateway(
  answers: ((request: CommandRequest) => { exitCode: number; stderr: string })[],
): {
  gateway: ProcessGateway;
  calls: CommandRequest[];
} {
  const calls: CommandRequest[] = [];
  const gateway: ProcessGateway = {
    run(request) {
      calls.push(request);
      const answer = answers[calls.length - 1];
      if (!answer) throw new Error(`unexpected call ${request.file}`);
      return Promise.resolve({ ...answer(request), stdout: '', durationMs: 1 });
    },
    hold() {
      throw new Error('not used');
    },
  };
  return { gateway, calls };
}

const exfatDrive: BlockFilesystem = {
  device: '/dev/sdz1',
  uuid: '1234-ABCD',
  fsType: 'exfat',
  label: null,
  major: 8,
  minor: 241,
};
const unknownType = (type: string) => () => ({
  exitCode: 32,
  stderr: `mount: /mnt/x: unknown filesystem type '${type}'.\n       dmesg(1) may have more information after failed mount system call.`,
});

describe('the drive adapter mounts with the drivers there are', () => {
  test('a kernel without exFAT: mount(8) is asked again with exfat-fuse, root-only options both times', async () => {
    const { gateway, calls } = scriptedGateway([
      unknownType('exfat'),
      () => ({ exitCode: 0, stderr: '' }),
    ]);
    await createMountTools(gateway, { useSystemdMount: false }).mount(exfatDrive, '/mnt/x');
    assert.deepEqual(
      calls.map((call) => call.args),
      [
        [
          '-t',
          'exfat',
          '-o',
          'nosymfollow,nosuid,nodev,noexec,uid=0,gid=0,umask=077',
          '--',
          '/dev/sdz1',
          '/mnt/x',
        ],
        [
          '-t',
          'exfat-fuse',
          '-o',
          'nosymfollow,nosuid,nodev,noexec,uid=0,gid=0,umask=077',
          '--',
          '/dev/sdz1',
          '/mnt/x',
        ],
      ],
    );
  });

  test('no driver at all: MOUNT_FAILED whose hint says what to install', async () => {
    const { gateway } = scriptedGateway([unknownType('exfat'), unknownType('exfat-fuse')]);
    const failure = await createDriveAdapter(gateway)
      .mount(exfatDrive, '/mnt/x')
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(failure instanceof AgentError);
    assert.equal(failure.code, 'MOUNT_FAILED');
    assert.match(failure.hint ?? '', /install .*exfat-fuse/);
  });

  test('a damaged filesystem is reported as it is, not hidden behind another driver', async () => {
    const { gateway, calls } = scriptedGateway([
      () => ({
        exitCode: 32,
        stderr: 'mount: /mnt/x: wrong fs type, bad option, bad superblock on /dev/sdz1',
      }),
    ]);
    const failure = await createDriveAdapter(gateway)
      .mount(exfatDrive, '/mnt/x')
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.equal(calls.length, 1);
    assert.ok(failure instanceof AgentError);
    assert.match(failure.message, /bad superblock/);
    assert.match(failure.hint ?? '', /fsck/);
  });

  test('under systemd, systemd-mount gets the type and the options, and fusefat is not tried', async () => {
    const vfat = { ...exfatDrive, fsType: 'vfat' };
    const { gateway, calls } = scriptedGateway([
      () => ({ exitCode: 1, stderr: 'Job for mnt-x.mount failed.' }),
      () => ({ exitCode: 1, stderr: '' }), // modprobe --dry-run, if /proc/filesystems lacks vfat
    ]);
    const failure = await createDriveAdapter(gateway, { useSystemdMount: true })
      .mount(vfat, '/mnt/x')
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(failure instanceof AgentError);
    assert.deepEqual(calls[0]?.args, [
      '--no-ask-password',
      '--collect',
      '--type=vfat',
      '--options=nosymfollow,nosuid,nodev,noexec,uid=0,gid=0,umask=077',
      '--',
      '/dev/sdz1',
      '/mnt/x',
    ]);
    assert.ok(!calls.some((call) => call.file === 'fusefat'), 'no fusefat under systemd');
  });

  test('under systemd, which says nothing of why, a type no driver knows gets the install hint', async () => {
    const strange = { ...exfatDrive, fsType: 'qnx-none' };
    const { gateway } = scriptedGateway([
      () => ({ exitCode: 1, stderr: 'Job for mnt-x.mount failed.' }),
      () => ({ exitCode: 1, stderr: '' }), // modprobe --dry-run: no such module
    ]);
    const failure = await createDriveAdapter(gateway, { useSystemdMount: true })
      .mount(strange, '/mnt/x')
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(failure instanceof AgentError);
    assert.match(failure.hint ?? '', /cannot mount qnx-none: install/);
  });
});

describe('driveWriteError: every refused write gets a code and a hint', () => {
  const errno = (code: string, message: string, syscall = 'write', path?: string) =>
    Object.assign(new Error(message), { code, syscall, ...(path ? { path } : {}) });
  test('ENOSPC is NO_SPACE, EIO and ENOTCONN are DRIVE_GONE', () => {
    assert.equal(driveWriteError(errno('ENOSPC', 'no space'), 'x', 'dump')?.code, 'NO_SPACE');
    assert.equal(driveWriteError(errno('EIO', 'io'), 'x', 'dump')?.code, 'DRIVE_GONE');
    assert.equal(driveWriteError(errno('ENOTCONN', 'gone'), 'x', 'dump')?.code, 'DRIVE_GONE');
  });
  test('anything else the drive refuses is DRIVE_WRITE_FAILED, never a bare INTERNAL', () => {
    const error = driveWriteError(
      errno('ENOSYS', 'ENOSYS: function not implemented, fchmod', 'fchmod'),
      'the run record',
      'record',
      '/media/backup/immich-backup',
    );
    assert.equal(error?.code, 'DRIVE_WRITE_FAILED');
    assert.match(error?.message ?? '', /the run record.*fchmod/);
    assert.ok(error?.hint);
  });
  test('what is not an error of the drive is left to the caller', () => {
    assert.equal(driveWriteError(new Error('a bug'), 'x', 'dump'), null);
    assert.equal(
      driveWriteError(errno('ECONNRESET', 'the engine hung up', 'read'), 'x', 'dump'),
      null,
      'the Docker connection',
    );
    assert.equal(
      driveWriteError(
        Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
        'x',
        'dump',
      ),
      null,
      'a stream of the pipeline',
    );
    assert.equal(
      driveWriteError(
        errno('EACCES', 'permission denied', 'open', '/home/immich/app/.env'),
        '.env',
        'config',
        '/media/backup/immich-backup',
      ),
      null,
      'a file elsewhere',
    );
  });
});
