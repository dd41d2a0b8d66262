import assert from 'node:assert/strict';
import {
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAgentError } from '../../../src/errors.js';
import { takeRunLock } from '../../../src/session/lock.js';
import { stateNotes } from '../../../src/session/state-notes.js';

let root: string;
const asRoot = { skip: process.getuid?.() !== 0 ? 'only root can give files away' : false };

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'state-modes-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const owner = { runId: 'r1', trigger: 'manual', startedAt: '2026-11-30T01:00:00.000Z' };

describe('the state folder is root’s alone', () => {
  test('with umask 000, the state folder is made 0700 and its lock and notes 0600', async () => {
    const stateDir = path.join(root, 'fresh', 'state');
    const umask = process.umask(0);
    try {
      const lock = await takeRunLock(stateDir, owner);
      const notes = stateNotes(stateDir);
      await notes.serverStopped.write({
        container: 'immich_server',
        runId: 'r1',
        pid: 1,
        stoppedAt: 'now',
      });
      await notes.progress.write({
        runId: 'r1',
        trigger: 'manual',
        pid: 1,
        startedAt: 'now',
        step: 'sync',
        stepStartedAt: 'now',
      });
      assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
      for (const name of await readdir(stateDir))
        assert.equal((await stat(path.join(stateDir, name))).mode & 0o777, 0o600, name);
      assert.deepEqual((await readdir(stateDir)).sort(), [
        'progress.json',
        'run.lock',
        'server-stopped.json',
      ]);
      await lock.release();
    } finally {
      process.umask(umask);
    }
  });

  test('a note that is a symlink is not read (it could point anywhere)', async () => {
    const stateDir = await mkdtemp(path.join(root, 'link-'));
    const elsewhere = path.join(root, 'elsewhere.json');
    await writeFile(
      elsewhere,
      JSON.stringify({ container: 'forged', runId: 'x', pid: 1, stoppedAt: 'now' }),
    );
    await symlink(elsewhere, path.join(stateDir, 'server-stopped.json'));
    assert.equal(await stateNotes(stateDir).serverStopped.read(), null);
  });

  test(
    'a state folder a user made first is refused before a lock is taken in it',
    asRoot,
    async () => {
      const stateDir = path.join(root, 'forged-state');
      await mkdir(stateDir, { mode: 0o755 });
      await chown(stateDir, 1000, 1000);
      await writeFile(
        path.join(stateDir, 'server-stopped.json'),
        JSON.stringify({ container: 'forged', runId: 'x', pid: 1, stoppedAt: 'now' }),
      );
      await assert.rejects(takeRunLock(stateDir, owner), (error) => {
        assert.ok(isAgentError(error, 'CONFIG_INSECURE'), String(error));
        assert.match(error.message, /owned by uid 1000, not root/);
        assert.match(error.hint ?? '', /chown root:root/);
        return true;
      });
      assert.deepEqual(await readdir(stateDir), ['server-stopped.json'], 'no lock made there');
      assert.match(await readFile(path.join(stateDir, 'server-stopped.json'), 'utf8'), /forged/);
    },
  );
});
