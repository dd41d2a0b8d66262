import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunRecord } from '../../../src/history/record.js';
import { desktopMessageFor, genericMessageFor } from '../../../src/notify/notifier.js';

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

describe('the desktop notification for someone not in power.users', () => {
  const failed = {
    ...record,
    outcome: 'failed',
    reason: 'LIBRARY_UNAVAILABLE',
    message:
      "The library folder /media/gonzalo/Data Main1/library/Ana's diagnosis.pdf is not there.",
    hint: 'Mount /media/gonzalo/Data Main1 and run again.',
    unplug: {
      safe: false,
      poweredOff: false,
      message: 'The drive is still mounted at /media/gonzalo/Backup1: eject it before unplugging.',
    },
  } as unknown as RunRecord;

  test('a failure says that it failed and where to look, with no path or file name', () => {
    const detailed = desktopMessageFor(failed);
    assert.ok(detailed);
    assert.match(detailed.body, /diagnosis\.pdf/, 'the detailed one has them');
    const generic = genericMessageFor(detailed, failed);
    assert.equal(generic.summary, 'Immich backup FAILED');
    assert.equal(
      generic.body,
      'The Immich backup failed. See `immich-backup-agent status` for why. Do not unplug the drive yet.',
    );
    assert.ok(!/\//.test(generic.body), generic.body);
  });

  test('warnings naming files become "it needs attention"; counts and the unplug line stay', () => {
    const detailed = desktopMessageFor(record);
    assert.ok(detailed);
    const generic = genericMessageFor(detailed, record);
    assert.equal(
      generic.body,
      '3 new files (3.0 kB). It needs attention. See `immich-backup-agent status` for why. The drive is unmounted: you can unplug it.',
    );
  });

  test('a message without a record (started, plug in the drive) is the same for everyone', () => {
    const message = {
      summary: 'Backing up',
      body: 'Keep the drive plugged in.',
      urgency: 'normal' as const,
    };
    assert.deepEqual(genericMessageFor(message, null), message);
  });
});
