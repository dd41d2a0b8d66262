import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError } from '../../../src/errors.js';
import type { StepContext } from '../../../src/run/context.js';
import { assertDriveStillThere } from '../../../src/run/steps/drive-still-there.js';
import type { PreparedDrive } from '../../../src/session/prepare-drive.js';

const target = { backupDir: '/media/backup/immich-backup' } as unknown as PreparedDrive;
const writeError = new AgentError('SYNC_FAILED', 'rsync: write failed: Input/output error', {
  step: 'sync',
});

function contextWith(signal: AbortSignal, driveThere: boolean): StepContext {
  return {
    signal,
    drive: {
      proveOnDrive: () =>
        driveThere ? Promise.resolve() : Promise.reject(new Error('not on the drive')),
    },
  } as unknown as StepContext;
}

test('a failed write with the drive gone becomes DRIVE_GONE', async () => {
  await assert.rejects(
    assertDriveStillThere(contextWith(new AbortController().signal, false), target, writeError),
    (error: unknown) => error instanceof AgentError && error.code === 'DRIVE_GONE',
  );
});

test('a failed write with the drive still there keeps the write error', async () => {
  await assertDriveStillThere(contextWith(new AbortController().signal, true), target, writeError);
});

test('a run that was told to stop stays interrupted even when the drive is gone', async () => {
  const controller = new AbortController();
  controller.abort();
  // No DRIVE_GONE: the caller rethrows its own error (INTERRUPTED), as systemd's stop caused it.
  await assertDriveStillThere(contextWith(controller.signal, false), target, writeError);
});
