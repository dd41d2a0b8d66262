import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isReadOnly,
  mountAt,
  parseMountinfo,
  unescapeMountField,
  type MountEntry,
} from '../../../src/adapters/mountinfo.js';

// Lines in the format of proc(5), as the kernel writes them.
const rootLine = '22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro';
const noOptionalFields = '36 22 7:3 / /mnt/backup rw,nosuid - ext4 /dev/loop3 rw';
const severalOptionalFields =
  '40 22 259:1 / /media/usb rw shared:5 master:2 propagate_from:1 unbindable - vfat /dev/nvme0n1p1 rw,fmask=0022';
const escapedLine =
  '41 22 8:17 /sub\\134dir /media/My\\040Photos\\011and\\012more rw - exfat /dev/disk\\040one rw';
const readOnlyMount = '42 22 8:33 / /media/ro-mount ro,relatime - ext4 /dev/sdc1 rw';
const readOnlySuperblock =
  '43 22 8:34 / /media/ro-super rw,relatime - ext4 /dev/sdc2 ro,errors=continue';

describe('parseMountinfo reads /proc/self/mountinfo', () => {
  test('a line without optional fields is read field by field', () => {
    const [entry] = parseMountinfo(noOptionalFields);
    assert.deepEqual(entry, {
      mountId: 36,
      major: 7,
      minor: 3,
      root: '/',
      mountPoint: '/mnt/backup',
      options: ['rw', 'nosuid'],
      fsType: 'ext4',
      source: '/dev/loop3',
      superOptions: ['rw'],
    } satisfies MountEntry);
  });

  test('optional fields before the "-" separator are skipped, however many there are', () => {
    const entries = parseMountinfo([rootLine, severalOptionalFields].join('\n'));
    assert.deepEqual(
      entries.map((entry) => [entry.mountPoint, entry.fsType, entry.source, entry.superOptions]),
      [
        ['/', 'ext4', '/dev/sda2', ['rw', 'errors=remount-ro']],
        ['/media/usb', 'vfat', '/dev/nvme0n1p1', ['rw', 'fmask=0022']],
      ],
    );
    assert.deepEqual([entries[1]?.major, entries[1]?.minor], [259, 1]);
  });

  test('octal escapes for space, tab, newline and backslash are decoded in every path field', () => {
    const [entry] = parseMountinfo(escapedLine);
    assert.equal(entry?.root, '/sub\\dir');
    assert.equal(entry?.mountPoint, '/media/My Photos\tand\nmore');
    assert.equal(entry?.source, '/dev/disk one');
  });

  test('blank lines and lines without a separator are ignored', () => {
    const entries = parseMountinfo(`\n${rootLine}\n\n36 22 7:3 / /broken rw ext4\n\n`);
    assert.deepEqual(
      entries.map((entry) => entry.mountPoint),
      ['/'],
    );
  });

  test('an empty text gives no entries', () => {
    assert.deepEqual(parseMountinfo(''), []);
  });
});

describe('unescapeMountField decodes the kernel’s octal escapes', () => {
  const cases: [string, string][] = [
    ['/plain/path', '/plain/path'],
    ['/a\\040b', '/a b'],
    ['/a\\011b', '/a\tb'],
    ['/a\\012b', '/a\nb'],
    ['/a\\134b', '/a\\b'],
    // An escaped backslash followed by digits is a backslash and the digits, decoded once.
    ['/a\\134040', '/a\\040'],
    ['/a\\040\\040b', '/a  b'],
  ];
  for (const [field, expected] of cases) {
    test(`${JSON.stringify(field)} reads as ${JSON.stringify(expected)}`, () => {
      assert.equal(unescapeMountField(field), expected);
    });
  }
});

describe('isReadOnly', () => {
  const cases: { name: string; line: string; readOnly: boolean }[] = [
    { name: 'a read-write mount of a read-write filesystem', line: rootLine, readOnly: false },
    { name: 'a mount with the ro mount option', line: readOnlyMount, readOnly: true },
    { name: 'a filesystem whose superblock is ro', line: readOnlySuperblock, readOnly: true },
  ];
  for (const { name, line, readOnly } of cases) {
    test(`${name} is ${readOnly ? '' : 'not '}read-only`, () => {
      const [entry] = parseMountinfo(line);
      assert.ok(entry);
      assert.equal(isReadOnly(entry), readOnly);
    });
  }

  test('an option that merely contains "ro" does not make a mount read-only', () => {
    const [entry] = parseMountinfo('44 22 8:35 / /x rw,errors=remount-ro - ext4 /dev/sdd1 rw,root');
    assert.ok(entry);
    assert.equal(isReadOnly(entry), false);
  });
});

describe('mountAt finds what is mounted on a folder', () => {
  const stacked = parseMountinfo(
    [
      rootLine,
      '50 22 8:17 / /mnt/backup rw - ext4 /dev/sdb1 rw',
      '51 50 8:33 / /mnt/backup rw - vfat /dev/sdc1 rw',
      '52 22 8:49 / /mnt/backup-other rw - ext4 /dev/sdd1 rw',
    ].join('\n'),
  );

  test('the last of several mounts stacked on a folder wins', () => {
    assert.equal(mountAt(stacked, '/mnt/backup')?.source, '/dev/sdc1');
  });

  test('a folder is matched exactly, not by prefix', () => {
    assert.equal(mountAt(stacked, '/mnt/backup-other')?.mountId, 52);
    assert.equal(mountAt(stacked, '/mnt'), undefined);
    assert.equal(mountAt(stacked, '/mnt/backup/'), undefined);
  });

  test('a folder nothing is mounted on gives undefined', () => {
    assert.equal(mountAt(stacked, '/srv'), undefined);
    assert.equal(mountAt([], '/'), undefined);
  });
});
