import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatStatus } from '../../../src/cli/status-command.js';
import type { DriveStatus, Status } from '../../../src/cli/status-read.js';
import type { Verification } from '../../../src/verify/read-back-status.js';

const now = new Date('2026-11-30T12:00:00.000Z');

function statusWith(verification: Verification): Status {
  const drive: DriveStatus = {
    uuid: 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e',
    label: 'Backup1',
    present: false,
    device: null,
    identity: null,
    lastSuccessAt: null,
    nextDueAt: now.toISOString(),
    freeBytes: null,
    freeBytesAt: null,
    nextBackupBytes: null,
    nextBackupBasis: null,
    lastCopy: null,
    fits: null,
    versionsBytes: null,
    verification,
  };
  return {
    health: 'healthy',
    clock: null,
    running: null,
    lastRun: null,
    lastSuccessAt: null,
    nextDueAt: now.toISOString(),
    drives: [drive],
    lastRestore: null,
    verification,
  };
}

describe('status shows how recently every original was re-read', () => {
  test('a completed cycle: within how many days, and no mismatch', () => {
    const text = formatStatus(
      statusWith({
        lastFullCycleAt: '2026-11-01T02:05:00.000Z',
        coverage: {
          cycleStartedAt: '2026-11-01T02:05:00.000Z',
          share: 0.5,
          everyOriginalWithinDays: 41,
          behind: false,
          lastReadAt: '2026-11-29T02:05:00.000Z',
        },
        mismatches: 0,
        missing: 0,
        names: [],
      }),
      now,
    );
    assert.match(
      text,
      /\n {2}Originals: +every original re-read within the last 41 days; 0 mismatches$/,
    );
  });

  test('damage is named on the next line, the list pointing to verify --full', () => {
    const text = formatStatus(
      statusWith({
        lastFullCycleAt: null,
        coverage: {
          cycleStartedAt: '2026-11-01T02:05:00.000Z',
          share: 0.38,
          everyOriginalWithinDays: null,
          behind: true,
          lastReadAt: '2026-11-29T02:05:00.000Z',
        },
        mismatches: 1,
        missing: 0,
        names: ['library/admin/2024/IMG_1 "x".jpg'],
      }),
      now,
    );
    assert.match(
      text,
      /Originals: +not every original re-read yet: 38% of this cycle \(BEHIND[^)]*\); 1 mismatch/,
    );
    assert.match(
      text,
      /damaged or missing: "library\/admin\/2024\/IMG_1 \\"x\\".jpg" \(verify --full names them all\)/,
    );
  });
});
