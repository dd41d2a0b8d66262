import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProgressLine, rsyncArguments } from '../../../src/adapters/rsync.js';

test('rsync --info=progress2 lines become bytes, percent, rate and ETA', () => {
  assert.deepEqual(parseProgressLine('      111804416  53%  106.59MB/s    0:00:00  '), {
    bytes: 111804416,
    percent: 53,
    bytesPerSecond: 106.59e6,
    etaSeconds: 0,
  });
  assert.deepEqual(
    parseProgressLine('  209715211  99%  103.29MB/s    1:02:03 (xfr#5, to-chk=46/52)'),
    {
      bytes: 209715211,
      percent: 99,
      bytesPerSecond: 103.29e6,
      etaSeconds: 3723,
    },
  );
  assert.deepEqual(parseProgressLine('          32768   0%    0.00kB/s    0:00:00  '), {
    bytes: 32768,
    percent: 0,
    bytesPerSecond: 0,
    etaSeconds: 0,
  });
});

test('lines that are not progress (stats, file names) are ignored', () => {
  assert.equal(parseProgressLine('Number of files: 52 (reg: 51, dir: 1)'), null);
  assert.equal(parseProgressLine('sent 209,767,393 bytes  received 1,035 bytes'), null);
  assert.equal(parseProgressLine(''), null);
});

test('progress is asked for only when someone listens, never in a dry run', () => {
  const request = { source: '/a', destination: '/b', filesystemType: 'ext4' };
  assert.ok(
    rsyncArguments({ ...request, onProgress: () => undefined }).includes('--info=progress2'),
  );
  assert.ok(!rsyncArguments(request).includes('--info=progress2'));
  assert.ok(
    !rsyncArguments({ ...request, onProgress: () => undefined }, true).includes('--info=progress2'),
  );
});
