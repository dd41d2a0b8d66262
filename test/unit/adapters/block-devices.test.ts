import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBlkidExport, splitDeviceNumber } from '../../../src/adapters/block-devices.js';

/** glibc's makedev(3): the Linux dev_t layout the code under test must undo. */
function makedev(major: number, minor: number): bigint {
  const majorBits = BigInt(major);
  const minorBits = BigInt(minor);
  return (
    ((majorBits & 0xfffn) << 8n) |
    ((majorBits & ~0xfffn) << 32n) |
    (minorBits & 0xffn) |
    ((minorBits & ~0xffn) << 12n)
  );
}

describe('parseBlkidExport reads `blkid -o export`', () => {
  test('one device gives one record with every key', () => {
    const text = [
      'DEVNAME=/dev/sdb1',
      'UUID=3f1c9a2e-8d4b-4f5a-9c1e-2b7d6e8f0a1b',
      'BLOCK_SIZE=4096',
      'TYPE=ext4',
      'PARTUUID=9a8b7c6d-01',
      '',
    ].join('\n');
    assert.deepEqual(parseBlkidExport(text), [
      {
        DEVNAME: '/dev/sdb1',
        UUID: '3f1c9a2e-8d4b-4f5a-9c1e-2b7d6e8f0a1b',
        BLOCK_SIZE: '4096',
        TYPE: 'ext4',
        PARTUUID: '9a8b7c6d-01',
      },
    ]);
  });

  test('devices separated by blank lines give one record each, in order', () => {
    const text = [
      'DEVNAME=/dev/loop0',
      'TYPE=squashfs',
      '',
      'DEVNAME=/dev/sdb1',
      'UUID=ABCD-1234',
      'TYPE=vfat',
      '',
      '',
      'DEVNAME=/dev/nvme0n1p2',
      'UUID=0f0e0d0c-0b0a-0908-0706-050403020100',
      'TYPE=ext4',
    ].join('\n');
    const devices = parseBlkidExport(text);
    assert.deepEqual(
      devices.map((device) => [device.DEVNAME, device.UUID, device.TYPE]),
      [
        ['/dev/loop0', undefined, 'squashfs'],
        ['/dev/sdb1', 'ABCD-1234', 'vfat'],
        ['/dev/nvme0n1p2', '0f0e0d0c-0b0a-0908-0706-050403020100', 'ext4'],
      ],
    );
  });

  test('backslash-escaped characters in values are unescaped', () => {
    const text = [
      'DEVNAME=/dev/sdc1',
      'LABEL=My\\ Photos\\ \\(2024\\)',
      'PARTLABEL=it\\\'s\\ \\"ours\\"\\ \\$HOME\\\\x',
      'TYPE=exfat',
    ].join('\n');
    const [device] = parseBlkidExport(text);
    assert.equal(device?.LABEL, 'My Photos (2024)');
    assert.equal(device?.PARTLABEL, 'it\'s "ours" $HOME\\x');
  });

  test('an equals sign inside a value belongs to the value', () => {
    const [device] = parseBlkidExport('DEVNAME=/dev/sdd1\nLABEL=a=b\n');
    assert.equal(device?.LABEL, 'a=b');
  });

  test('lines without a key are ignored', () => {
    assert.deepEqual(parseBlkidExport('=value\nnot a pair\nTYPE=ext4\n'), [{ TYPE: 'ext4' }]);
  });

  test('no output gives no devices', () => {
    assert.deepEqual(parseBlkidExport(''), []);
    assert.deepEqual(parseBlkidExport('\n\n'), []);
  });
});

describe('splitDeviceNumber undoes makedev(3)', () => {
  const cases: { name: string; major: number; minor: number; encoded?: bigint }[] = [
    { name: 'a SCSI disk partition (8, 17)', major: 8, minor: 17, encoded: 2065n },
    {
      name: 'an NVMe partition (259, 1), whose major needs more than 8 bits',
      major: 259,
      minor: 1,
    },
    {
      name: 'a loop device (7, 300), whose minor needs more than 8 bits',
      major: 7,
      minor: 300,
      encoded: 1050412n,
    },
    { name: 'the first device (0, 0)', major: 0, minor: 0, encoded: 0n },
    { name: 'the largest classic numbers (4095, 255)', major: 4095, minor: 255 },
    { name: 'a 20-bit minor (259, 1048575)', major: 259, minor: 1048575 },
    { name: 'the largest numbers Linux allows (4095, 1048575)', major: 4095, minor: 1048575 },
  ];
  for (const { name, major, minor, encoded } of cases) {
    test(`${name} is split back into its major and minor`, () => {
      const device = makedev(major, minor);
      if (encoded !== undefined) assert.equal(device, encoded, 'the test’s makedev is right');
      assert.deepEqual(splitDeviceNumber(device), { major, minor });
    });
  }

  test('makedev(259, 1) is 66305 and splits into 259 and 1', () => {
    assert.deepEqual(splitDeviceNumber(66305n), { major: 259, minor: 1 });
  });
});
