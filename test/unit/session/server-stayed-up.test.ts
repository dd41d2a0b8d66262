import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { ContainerState, DockerAdapter } from '../../../src/adapters/docker.js';
import { AgentError } from '../../../src/errors.js';
import { serverStayedUp, startServerSeenRunning } from '../../../src/session/server-stayed-up.js';
import type { Note, StoppedServer } from '../../../src/session/state-notes.js';

const logger = pino({ level: 'silent' });
const up = (startedAt: string, restartCount = 0): ContainerState => ({
  id: 'c0ffee',
  name: 'immich_server',
  image: 'ghcr.io/immich-app/immich-server:v2',
  imageId: 'sha256:1',
  running: true,
  restarting: false,
  status: 'running',
  startedAt,
  restartCount,
});
const exited = (startedAt: string): ContainerState => ({
  ...up(startedAt),
  running: false,
  status: 'exited',
});
const restarting = (startedAt: string, restartCount: number): ContainerState => ({
  ...up(startedAt, restartCount),
  running: true,
  restarting: true,
  status: 'restarting',
});

/**
 * A Docker engine that answers inspect with the states given, one per call (the last one
 * repeated), and the stopped-server note: the two things the check talks to.
 */
function world(states: ContainerState[]) {
  const calls: string[] = [];
  let index = 0;
  const docker = {
    start: (name: string) => (calls.push(`start ${name}`), Promise.resolve()),
    inspect: () => Promise.resolve(states[Math.min(index++, states.length - 1)] ?? null),
  } as unknown as DockerAdapter;
  const marker = {
    write: () => Promise.resolve(),
    read: () => Promise.resolve(null),
    clear: () => (calls.push('note cleared'), Promise.resolve()),
  } as Note<StoppedServer>;
  return { docker, marker, calls };
}

async function startThenCheck(states: ContainerState[], waitMs = 600) {
  const { docker, marker, calls } = world(states);
  const seen = await startServerSeenRunning(docker, 'immich_server', logger);
  const check = serverStayedUp(docker, marker, 'immich_server', seen, logger, {
    stableMs: 100,
    waitMs,
  });
  return { check, calls, seen };
}

const startFailed = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AgentError);
  assert.equal(error.code, 'SERVER_START_FAILED');
  assert.match(error.message, pattern);
  assert.match(error.hint ?? '', /Immich is DOWN/);
  return true;
};

describe('the restarted server is watched while the run goes on, and checked at its end', () => {
  test('a server still running as the same start of its process passes, and the note is cleared', async () => {
    const { check, calls } = await startThenCheck([up('T1'), up('T1')]);
    await check;
    assert.deepEqual(calls, ['start immich_server', 'note cleared']);
  });

  test('the check waits out the rest of the stable time when the tail was shorter', async () => {
    const started = Date.now();
    const { check } = await startThenCheck([up('T1')]);
    await check;
    assert.ok(Date.now() - started >= 95, `${Date.now() - started} ms`);
  });

  test('a server that exited after it was seen running is SERVER_START_FAILED, the note kept for recover', async () => {
    const { check, calls } = await startThenCheck([up('T1'), exited('T1')]);
    await assert.rejects(check, startFailed(/did not come back: Docker reports it exited/));
    assert.ok(!calls.includes('note cleared'));
  });

  test('a server its restart policy keeps restarting is SERVER_START_FAILED', async () => {
    const { check, calls } = await startThenCheck([up('T1'), restarting('T2', 1)], 300);
    await assert.rejects(check, startFailed(/restarted 1 times by its restart policy/));
    assert.ok(!calls.includes('note cleared'));
  });

  test('a server its restart policy started again (it crashed) fails, even if it runs now', async () => {
    const { check, calls } = await startThenCheck([up('T1'), up('T2', 1), up('T2', 1)]);
    await assert.rejects(check, startFailed(/restarted 1 times by its restart policy .*crashed/));
    assert.ok(!calls.includes('note cleared'));
  });

  test('a server someone started again (same restart count) that stays up passes, with a warning', async () => {
    const { check, calls } = await startThenCheck([up('T1'), up('T2'), up('T2'), up('T2')]);
    await check;
    assert.deepEqual(calls, ['start immich_server', 'note cleared']);
  });

  test('a server that never comes up after the start fails at once, loudly', async () => {
    const { docker } = world([exited('T0')]);
    await assert.rejects(
      startServerSeenRunning(docker, 'immich_server', logger, 300),
      startFailed(/did not come back: Docker reports it exited/),
    );
  });
});
