import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunRecord } from '../../../src/history/record.js';
import { desktopMessageFor } from '../../../src/notify/notifier.js';

const record = {
  id: 'r1',
  trigger: 'hotplug',
  outcome: 'warning',
  reason: null,
  message: 'Backup finished.',
  hint: null,
  files: { transferredFiles: 3, transferredBytes: 3000, totalFiles: 10, totalBytes: 10_000 },
  database: { bytes: 5_000 },
  warnings: [
    '2 files could not be stored on this exfat drive (names or sizes it refuses) and are not in the backup: a/x:y.jpg, a/what?.jpg.',
  ],
  unplug: { safe: true, poweredOff: false, message: 'You can unplug the drive now.' },
} as unknown as RunRecord;

describe('the desktop notification of a run that ended with warnings', () => {
  test('names what the warnings name (the files the drive could not store)', () => {
    const message = desktopMessageFor(record);
    assert.equal(message?.summary, 'Immich backup finished with warnings');
    assert.match(message?.body ?? '', /a\/x:y\.jpg, a\/what\?\.jpg/);
    assert.match(message?.body ?? '', /You can unplug the drive now\.$/);
  });
});
