import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { interpretExit } from '../../../src/adapters/process.js';
import { parseRsyncStats, rsyncArguments, rsyncExits } from '../../../src/adapters/rsync.js';

/** What rsync 3.2 prints with --stats, numbers as given. */
function statsOutput(numbers: {
  files: string;
  created: string;
  transferred: string;
  totalSize: string;
  transferredSize: string;
}): string {
  return [
    '',
    `Number of files: ${numbers.files}`,
    `Number of created files: ${numbers.created}`,
    'Number of deleted files: 0',
    `Number of regular files transferred: ${numbers.transferred}`,
    `Total file size: ${numbers.totalSize} bytes`,
    `Total transferred file size: ${numbers.transferredSize} bytes`,
    'Literal data: 0 bytes',
    'Matched data: 0 bytes',
    'File list size: 0',
    'File list generation time: 0.001 seconds',
    'File list transfer time: 0.000 seconds',
    'Total bytes sent: 1,234',
    'Total bytes received: 56',
    '',
    'sent 1,234 bytes  received 56 bytes  2,580.00 bytes/sec',
    'total size is 0  speedup is 0.00',
    '',
  ].join('\n');
}

describe('parseRsyncStats reads the numbers of `rsync --stats`', () => {
  test('numbers with digit grouping are read whole', () => {
    const text = statsOutput({
      files: '12,345 (reg: 12,000, dir: 345)',
      created: '1,204 (reg: 1,200, dir: 4)',
      transferred: '1,200',
      totalSize: '98,765,432,100',
      transferredSize: '3,210,987,654',
    });
    assert.deepEqual(parseRsyncStats(text), {
      totalFiles: 12000,
      totalBytes: 98765432100,
      transferredFiles: 1200,
      transferredBytes: 3210987654,
      createdFiles: 1200,
      deletedFiles: 0,
    });
  });

  test('numbers without digit grouping (--no-human-readable) are read the same', () => {
    const text = statsOutput({
      files: '12345 (reg: 12000, dir: 345)',
      created: '1204 (reg: 1200, dir: 4)',
      transferred: '1200',
      totalSize: '98765432100',
      transferredSize: '3210987654',
    });
    assert.deepEqual(parseRsyncStats(text), {
      totalFiles: 12000,
      totalBytes: 98765432100,
      transferredFiles: 1200,
      transferredBytes: 3210987654,
      createdFiles: 1200,
      deletedFiles: 0,
    });
  });

  test('a library of only folders counts no files', () => {
    const text = statsOutput({
      files: '3 (dir: 3)',
      created: '2 (dir: 2)',
      transferred: '0',
      totalSize: '0',
      transferredSize: '0',
    });
    assert.deepEqual(parseRsyncStats(text), {
      totalFiles: 0,
      totalBytes: 0,
      transferredFiles: 0,
      transferredBytes: 0,
      createdFiles: 0,
      deletedFiles: 0,
    });
  });

  test('files, folders and links together count only the regular files', () => {
    const text = statsOutput({
      files: '10 (reg: 6, dir: 3, link: 1)',
      created: '0',
      transferred: '2',
      totalSize: '600',
      transferredSize: '200',
    });
    assert.deepEqual(parseRsyncStats(text), {
      totalFiles: 6,
      totalBytes: 600,
      transferredFiles: 2,
      transferredBytes: 200,
      createdFiles: 0,
      deletedFiles: 0,
    });
  });

  test('output without statistics gives zeros rather than an error', () => {
    assert.deepEqual(parseRsyncStats('rsync: some warning\n'), {
      totalFiles: 0,
      totalBytes: 0,
      transferredFiles: 0,
      transferredBytes: 0,
      createdFiles: 0,
      deletedFiles: 0,
    });
  });
});

describe('rsyncArguments builds the command line for the destination’s filesystem', () => {
  const posix = ['--archive', '--hard-links', '--numeric-ids'];
  const fat = ['--recursive', '--times', '--modify-window=1'];
  const cases: { filesystemType: string; keep: string[] }[] = [
    { filesystemType: 'ext4', keep: posix },
    { filesystemType: 'xfs', keep: posix },
    { filesystemType: 'btrfs', keep: posix },
    { filesystemType: 'vfat', keep: fat },
    { filesystemType: 'exfat', keep: fat },
    { filesystemType: 'ntfs3', keep: fat },
    { filesystemType: 'fuseblk', keep: fat },
  ];
  for (const { filesystemType, keep } of cases) {
    test(`on ${filesystemType} it keeps ${keep.join(' ')} and nothing contradicting it`, () => {
      const args = rsyncArguments({
        source: '/srv/library',
        destination: '/mnt/backup/files',
        filesystemType,
      });
      assert.deepEqual(args.slice(0, keep.length), keep);
      const other = keep === posix ? fat : posix;
      for (const option of other) assert.ok(!args.includes(option), `${option} is not used`);
    });
  }

  test('the full argument list for ext4 is exactly as documented', () => {
    assert.deepEqual(
      rsyncArguments({
        source: '/srv/library',
        destination: '/mnt/backup/immich-backup/files',
        filesystemType: 'ext4',
      }),
      [
        '--archive',
        '--hard-links',
        '--numeric-ids',
        '--partial-dir=.rsync-partial',
        '--stats',
        '--no-human-readable',
        '--',
        '/srv/library/',
        '/mnt/backup/immich-backup/files/',
      ],
    );
  });

  const paths: { name: string; source: string; destination: string }[] = [
    { name: 'paths without a trailing slash', source: '/srv/lib', destination: '/mnt/b' },
    { name: 'paths with a trailing slash', source: '/srv/lib/', destination: '/mnt/b/' },
    { name: 'paths with spaces and quotes', source: "/srv/my 'lib'", destination: '/mnt/"b" c' },
    { name: 'paths that look like options', source: '--delete', destination: '-rf' },
  ];
  for (const { name, source, destination } of paths) {
    for (const dryRun of [false, true]) {
      test(`with ${name}${dryRun ? ' in a dry run' : ''}, "--" comes before the two paths, each ending in one slash`, () => {
        const args = rsyncArguments({ source, destination, filesystemType: 'ext4' }, dryRun);
        const separator = args.indexOf('--');
        assert.equal(separator, args.length - 3);
        assert.deepEqual(args.slice(separator + 1), [
          source.replace(/\/?$/, '/'),
          destination.replace(/\/?$/, '/'),
        ]);
      });
    }
  }

  for (const filesystemType of ['ext4', 'vfat']) {
    for (const dryRun of [false, true]) {
      test(`on ${filesystemType}${dryRun ? ' in a dry run' : ''} no option deletes anything on the drive`, () => {
        const options = rsyncArguments(
          { source: '/s', destination: '/d', filesystemType },
          dryRun,
        ).slice(0, -3);
        assert.deepEqual(
          options.filter((option) => /^--(delete|remove|del\b|prune)/.test(option)),
          [],
        );
      });
    }
  }

  test('--dry-run is passed only when a dry run is asked for, and before the paths', () => {
    const request = { source: '/s', destination: '/d', filesystemType: 'ext4' };
    assert.ok(!rsyncArguments(request).includes('--dry-run'));
    assert.ok(!rsyncArguments(request, false).includes('--dry-run'));
    const dry = rsyncArguments(request, true);
    assert.ok(dry.indexOf('--dry-run') >= 0 && dry.indexOf('--dry-run') < dry.indexOf('--'));
  });
});

describe('rsync exit codes mean what rsync(1) says, for a backup', () => {
  const cases: { exitCode: number; outcome: 'ok' | 'warning' | 'error' }[] = [
    { exitCode: 0, outcome: 'ok' },
    { exitCode: 1, outcome: 'error' },
    { exitCode: 11, outcome: 'error' },
    { exitCode: 20, outcome: 'error' },
    { exitCode: 23, outcome: 'error' },
    { exitCode: 24, outcome: 'warning' },
    { exitCode: 30, outcome: 'error' },
  ];
  for (const { exitCode, outcome } of cases) {
    test(`exit ${exitCode} is ${outcome === 'ok' ? 'a success' : `an ${outcome}`}`, () => {
      assert.equal(interpretExit(rsyncExits, exitCode).outcome, outcome);
    });
  }

  test('exit 24 says files vanished and 23 says the transfer was partial', () => {
    assert.match(rsyncExits[24]?.meaning ?? '', /vanished/);
    assert.match(rsyncExits[23]?.meaning ?? '', /partial/);
  });

  test('an exit code rsync does not document is an error', () => {
    assert.equal(interpretExit(rsyncExits, 127).outcome, 'error');
  });
});

describe('rsyncArguments for drives without permissions', () => {
  test('onto vfat, exFAT or NTFS every file and folder is 0700, as the drive is mounted', () => {
    for (const filesystemType of ['vfat', 'exfat', 'ntfs'])
      assert.ok(
        rsyncArguments({ source: '/s', destination: '/d', filesystemType }).includes(
          '--chmod=D0700,F0700',
        ),
        filesystemType,
      );
  });

  test('onto FAT32 files of 4 GiB or more are left out (rsync would abort the whole copy)', () => {
    assert.ok(
      rsyncArguments({ source: '/s', destination: '/d', filesystemType: 'vfat' }).includes(
        '--max-size=4294967295',
      ),
    );
    for (const filesystemType of ['exfat', 'ntfs', 'ext4'])
      assert.ok(
        !rsyncArguments({ source: '/s', destination: '/d', filesystemType }).some((option) =>
          option.startsWith('--max-size'),
        ),
        filesystemType,
      );
  });

  test('a restore from such a drive gives the library’s owner and plain modes, never the drive’s', () => {
    const args = rsyncArguments({
      source: '/mnt/backup/files',
      destination: '/srv/library',
      filesystemType: 'ext4',
      sourceFilesystemType: 'exfat',
      owner: { uid: 1000, gid: 1001 },
    });
    assert.deepEqual(args.slice(0, 6), [
      '--recursive',
      '--times',
      '--modify-window=1',
      '--chmod=D0755,F0644',
      '--numeric-ids',
      '--chown=1000:1001',
    ]);
    assert.ok(!args.includes('--archive'));
    assert.ok(!args.includes('--perms'), 'files already in the library keep their modes');
  });

  test('a restore into a library on mergerfs or NFS gives plain modes, never the backup’s 0700', () => {
    for (const filesystemType of ['fuse.mergerfs', 'nfs4', 'cifs']) {
      const args = rsyncArguments({
        source: '/mnt/backup/files',
        destination: '/srv/library',
        filesystemType,
        sourceFilesystemType: 'ext4',
        owner: { uid: 1000, gid: 1001 },
      });
      assert.ok(args.includes('--chmod=D0755,F0644'), filesystemType);
      assert.ok(!args.includes('--chmod=D0700,F0700'), filesystemType);
    }
  });

  test('a restore from an ext4 drive keeps the modes backed up, but writes only files and folders, the library owner’s, never setuid', () => {
    const args = rsyncArguments({
      source: '/mnt/backup/files',
      destination: '/srv/library',
      filesystemType: 'ext4',
      sourceFilesystemType: 'ext4',
      owner: { uid: 1000, gid: 1001 },
    });
    assert.deepEqual(args.slice(0, 8), [
      '--recursive',
      '--times',
      '--perms',
      '--chmod=ug-s',
      '--hard-links',
      '--numeric-ids',
      '--chown=1000:1001',
      '--partial-dir=.rsync-partial',
    ]);
    for (const option of ['--archive', '--links', '-l', '--devices', '--specials', '-D'])
      assert.ok(!args.includes(option), `${option} is not used`);
  });
});
