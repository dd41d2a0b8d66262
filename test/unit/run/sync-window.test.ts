import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { isAgentError } from '../../../src/errors.js';
import { waitSyncWindow } from '../../../src/run/sync-window.js';

const log = pino({ level: 'silent' });

describe('the sync window before a scheduled run', () => {
  let library: string;
  before(async () => {
    library = await mkdtemp(path.join(tmpdir(), 'iba-sync-window-'));
    await mkdir(path.join(library, 'upload', 'user'), { recursive: true });
  });
  after(async () => {
    await rm(library, { recursive: true, force: true });
  });

  test('0 seconds means no wait at all', async () => {
    const result = await waitSyncWindow({
      seconds: 0,
      mode: 'fixed',
      quietSeconds: 1,
      libraryDir: library,
      signal: new AbortController().signal,
      log,
    });
    assert.deepEqual(result, { waitedMs: 0, endedBy: 'none' });
  });

  test('the fixed mode waits the whole window', async () => {
    const result = await waitSyncWindow({
      seconds: 1,
      mode: 'fixed',
      quietSeconds: 1,
      libraryDir: library,
      signal: new AbortController().signal,
      log,
    });
    assert.equal(result.endedBy, 'elapsed');
    assert.ok(result.waitedMs >= 950, `waited ${result.waitedMs} ms`);
  });

  test('the adaptive mode ends early once the upload folders have been quiet', async () => {
    const result = await waitSyncWindow({
      seconds: 20,
      mode: 'adaptive',
      quietSeconds: 1,
      libraryDir: library,
      signal: new AbortController().signal,
      log,
    });
    assert.equal(result.endedBy, 'quiet');
    assert.ok(result.waitedMs < 10_000, `waited ${result.waitedMs} ms`);
  });

  test('the adaptive mode keeps waiting while uploads arrive, but never longer than the window', async () => {
    const uploads = setInterval(() => {
      void writeFile(path.join(library, 'upload', 'user', `IMG_${Date.now()}.jpg`), 'new photo');
    }, 300);
    try {
      const result = await waitSyncWindow({
        seconds: 3,
        mode: 'adaptive',
        quietSeconds: 1,
        libraryDir: library,
        signal: new AbortController().signal,
        log,
      });
      assert.equal(result.endedBy, 'elapsed', 'uploads never stopped, so the window ran out');
      assert.ok(result.waitedMs >= 2900 && result.waitedMs < 6000, `waited ${result.waitedMs} ms`);
    } finally {
      clearInterval(uploads);
    }
  });

  test('SIGTERM (an aborted signal) ends the wait at once as INTERRUPTED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await assert.rejects(
      waitSyncWindow({
        seconds: 60,
        mode: 'adaptive',
        quietSeconds: 30,
        libraryDir: library,
        signal: controller.signal,
        log,
      }),
      (error) => isAgentError(error, 'INTERRUPTED'),
    );
    assert.ok(Date.now() - started < 5000);
  });
});
