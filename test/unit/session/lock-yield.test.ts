import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stateFolder } from '../../../src/layout/state-folder.js';
import { processStart, takeRunLock } from '../../../src/session/lock.js';
import { abortWhenWanted, waitForYield } from '../../../src/session/lock-yield.js';

describe('a backup that finds verify --full holding the lock', () => {
  let stateDir: string;
  const wanted = (): string => path.join(stateDir, 'lock.wanted');
  /** The lock as a live holder (this very process) with that trigger leaves it. */
  const holdAs = async (trigger: string): Promise<void> => {
    const owner = {
      pid: process.pid,
      processStart: await processStart(process.pid),
      runId: `held-by-${trigger}`,
      trigger,
      startedAt: new Date().toISOString(),
    };
    await writeFile(stateFolder(stateDir).lockFile, JSON.stringify(owner));
  };
  const owner = { runId: 'backup-1', trigger: 'hotplug', startedAt: new Date().toISOString() };

  before(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'lock-yield-'));
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  test('asks it to stop, waits, and takes the lock once it is given back', async () => {
    await holdAs('verify-full');
    let asked = 0;
    const taking = takeRunLock(stateDir, owner, {
      waitFor: waitForYield(stateDir, owner.runId, () => (asked += 1), 20_000),
    });
    for (let tries = 0; !existsSync(wanted()) && tries < 100; tries += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(existsSync(wanted()), 'the request is in the state folder');
    // The verification stops and releases the lock.
    await unlink(stateFolder(stateDir).lockFile);
    const lock = await taking;
    assert.equal(lock.owner.runId, 'backup-1');
    assert.equal(asked, 1, 'asked once, logged once');
    await lock.release();
  });

  test('a holder that does not give way (a backup, plain verify) is ALREADY_RUNNING at once', async () => {
    for (const trigger of ['hotplug', 'verify']) {
      await holdAs(trigger);
      const started = Date.now();
      await assert.rejects(
        takeRunLock(stateDir, owner, { waitFor: waitForYield(stateDir, 'x', () => {}, 20_000) }),
        (error: Error & { code?: string }) => error.code === 'ALREADY_RUNNING',
      );
      assert.ok(Date.now() - started < 5000, 'without waiting');
      await unlink(stateFolder(stateDir).lockFile);
    }
  });

  test('a verification that never gives way: the backup waits its time, then is ALREADY_RUNNING', async () => {
    await holdAs('verify-full');
    await assert.rejects(
      takeRunLock(stateDir, owner, { waitFor: waitForYield(stateDir, 'x', () => {}, 1200) }),
      (error: Error & { code?: string }) => error.code === 'ALREADY_RUNNING',
    );
    await unlink(stateFolder(stateDir).lockFile);
  });

  test('the verification sees a live backup’s request (and ignores one a dead run left)', async () => {
    await writeFile(wanted(), '{"runId":"gave-up","pid":999999999,"processStart":"1"}\n');
    const watch = await abortWhenWanted(stateDir, 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(watch.signal.aborted, false, 'the request of a run that ended is ignored');
      const me = {
        runId: 'backup-2',
        pid: process.pid,
        processStart: await processStart(process.pid),
      };
      await writeFile(wanted(), `${JSON.stringify(me)}\n`);
      for (let tries = 0; !watch.signal.aborted && tries < 100; tries += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(watch.signal.aborted, true);
    } finally {
      watch.stop();
    }
  });
});
