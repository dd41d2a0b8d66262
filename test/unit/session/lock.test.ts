import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AgentError } from '../../../src/errors.js';
import {
  acquireLock,
  isAlive,
  processStart,
  readLockOwner,
  type LockOwner,
} from '../../../src/session/lock.js';

// Helpers run compiled, next to this file in dist/test/env/.
const raceHelper = fileURLToPath(new URL('../../env/race-lock.js', import.meta.url));
const holdHelper = fileURLToPath(new URL('../../env/hold-lock.js', import.meta.url));

let root: string;
const children = new Set<ChildProcess>();

const stateDir = (): Promise<string> => mkdtemp(path.join(root, 'state-'));
const lockIn = (folder: string): string => path.join(folder, 'run.lock');
const owner = (runId: string): Omit<LockOwner, 'pid' | 'processStart'> => ({
  runId,
  trigger: 'manual',
  startedAt: '2025-01-12T02:05:00.000Z',
});

/** The pid of a process that has exited (and been reaped), so nobody has it right now. */
function deadPid(): number {
  const finished = spawnSync(process.execPath, ['-e', '']);
  assert.equal(finished.status, 0);
  assert.ok(finished.pid);
  return finished.pid;
}

async function writeLock(file: string, holder: Partial<LockOwner>): Promise<string> {
  const text = JSON.stringify({ ...owner('someone-else'), ...holder }) + '\n';
  await writeFile(file, text);
  return text;
}

/** Everything in the state folder but the lock itself: aside files and takeover guards. */
async function leftovers(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name !== 'run.lock');
}

/** Starts a helper process and resolves with it once it printed `line`. */
function start(args: string[], line: string): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      output.push(...lines);
      if (lines.includes(line)) resolve({ child, output });
    });
    child.once('exit', (code) =>
      reject(new Error(`helper exited with ${code} before printing ${line}: ${output.join('|')}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lock-test-'));
});
after(async () => {
  await Promise.all([...children].map(kill));
  await rm(root, { recursive: true, force: true });
});

describe('acquireLock and release', () => {
  test('the lock file names this process, and release removes it', async () => {
    const folder = await stateDir();
    const lock = await acquireLock(lockIn(folder), owner('run-1'));
    const written = JSON.parse(await readFile(lockIn(folder), 'utf8')) as LockOwner;
    assert.deepEqual(written, lock.owner);
    assert.equal(written.pid, process.pid);
    assert.equal(written.runId, 'run-1');
    assert.equal(written.trigger, 'manual');
    assert.match(written.processStart ?? '', /^\d+$/);
    assert.deepEqual(await leftovers(folder), [], 'no aside file is left');
    await lock.release();
    assert.deepEqual(await readdir(folder), []);
  });

  test('after a release the lock can be taken again', async () => {
    const folder = await stateDir();
    await (await acquireLock(lockIn(folder), owner('first'))).release();
    const second = await acquireLock(lockIn(folder), owner('second'));
    assert.equal(second.owner.runId, 'second');
    await second.release();
  });

  test('a second acquire while the lock is held is refused with ALREADY_RUNNING', async () => {
    const folder = await stateDir();
    const held = await acquireLock(lockIn(folder), owner('first'));
    try {
      const before = await readFile(lockIn(folder), 'utf8');
      await assert.rejects(acquireLock(lockIn(folder), owner('second')), (error: unknown) => {
        assert.ok(error instanceof AgentError);
        assert.equal(error.code, 'ALREADY_RUNNING');
        assert.equal(error.step, 'lock');
        assert.match(error.message, /run first, manual, pid \d+/);
        assert.deepEqual(error.details.holder, held.owner);
        return true;
      });
      assert.equal(await readFile(lockIn(folder), 'utf8'), before, 'the lock is unchanged');
      assert.deepEqual(await leftovers(folder), [], 'the refused attempt left nothing behind');
    } finally {
      await held.release();
    }
  });

  test('releasing twice is harmless', async () => {
    const folder = await stateDir();
    const lock = await acquireLock(lockIn(folder), owner('run'));
    await lock.release();
    await lock.release();
    assert.deepEqual(await readdir(folder), []);
  });

  test('release leaves alone a lock that another run has taken over since', async () => {
    const folder = await stateDir();
    const lock = await acquireLock(lockIn(folder), owner('mine'));
    const theirs = await writeLock(lockIn(folder), { pid: process.pid, runId: 'theirs' });
    await lock.release();
    assert.equal(await readFile(lockIn(folder), 'utf8'), theirs);
  });

  test('a lock in a folder that does not exist fails with the system error', async () => {
    await assert.rejects(
      acquireLock(path.join(root, 'missing', 'run.lock'), owner('run')),
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
  });
});

describe('a lock whose owner is gone is taken over', () => {
  const stale: { name: string; holder: () => Partial<LockOwner> | string }[] = [
    {
      name: 'a lock whose process has exited',
      holder: () => ({ pid: deadPid(), processStart: '12345', runId: 'dead' }),
    },
    {
      name: 'a lock whose process has exited, written without a start time',
      holder: () => ({ pid: deadPid(), processStart: null, runId: 'dead' }),
    },
    {
      name: 'a lock whose pid is alive but belongs to another process (pid reuse)',
      holder: () => ({ pid: process.pid, processStart: '1', runId: 'reused' }),
    },
    {
      name: 'a lock whose pid is init’s but whose start time is not',
      holder: () => ({ pid: 1, processStart: 'not-a-start-time', runId: 'reused' }),
    },
    { name: 'a lock file that is not JSON', holder: () => 'garbage{' },
    { name: 'an empty lock file', holder: () => '' },
    { name: 'a lock file without a pid', holder: () => '{"runId":"x"}' },
  ];
  for (const { name, holder } of stale) {
    test(`${name} is taken over`, async () => {
      const folder = await stateDir();
      const content = holder();
      if (typeof content === 'string') await writeFile(lockIn(folder), content);
      else await writeLock(lockIn(folder), content);
      const lock = await acquireLock(lockIn(folder), owner('new'));
      try {
        const written = JSON.parse(await readFile(lockIn(folder), 'utf8')) as LockOwner;
        assert.equal(written.pid, process.pid);
        assert.equal(written.runId, 'new');
        assert.deepEqual(await leftovers(folder), [], 'no guard or aside file is left');
      } finally {
        await lock.release();
      }
    });
  }

  test('a lock of a live process written without a start time is respected', async () => {
    const folder = await stateDir();
    await writeLock(lockIn(folder), { pid: process.pid, processStart: null, runId: 'old-format' });
    await assert.rejects(
      acquireLock(lockIn(folder), owner('new')),
      (error: unknown) => error instanceof AgentError && error.code === 'ALREADY_RUNNING',
    );
  });

  test('a takeover guard left by a process that died is cleared and the stale lock taken', async () => {
    const folder = await stateDir();
    await writeLock(lockIn(folder), { pid: deadPid(), processStart: '1', runId: 'dead' });
    const guard = `${lockIn(folder)}.takeover`;
    await mkdir(guard);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(guard, longAgo, longAgo);
    const lock = await acquireLock(lockIn(folder), owner('new'));
    try {
      assert.equal(lock.owner.runId, 'new');
      assert.deepEqual(await leftovers(folder), []);
    } finally {
      await lock.release();
    }
  });

  test('while another process holds a fresh takeover guard, the stale lock is not stolen', async () => {
    const folder = await stateDir();
    const stale = await writeLock(lockIn(folder), {
      pid: deadPid(),
      processStart: '1',
      runId: 'dead',
    });
    await mkdir(`${lockIn(folder)}.takeover`);
    await assert.rejects(
      acquireLock(lockIn(folder), owner('new')),
      (error: unknown) => error instanceof AgentError && error.code === 'INTERNAL',
    );
    assert.equal(await readFile(lockIn(folder), 'utf8'), stale);
  });
});

describe('readLockOwner, isAlive and processStart', () => {
  test('readLockOwner names the live holder', async () => {
    const folder = await stateDir();
    const lock = await acquireLock(lockIn(folder), owner('run-7'));
    try {
      assert.deepEqual(await readLockOwner(lockIn(folder)), lock.owner);
    } finally {
      await lock.release();
    }
  });

  const nobody: { name: string; content: (() => string) | null }[] = [
    { name: 'there is no lock file', content: null },
    {
      name: 'the holder has exited',
      content: () => JSON.stringify({ ...owner('dead'), pid: deadPid(), processStart: '1' }),
    },
    {
      name: 'the pid has been reused',
      content: () => JSON.stringify({ ...owner('reused'), pid: process.pid, processStart: '1' }),
    },
    { name: 'the lock file is damaged', content: () => '{"pid": 1, "runId"' },
  ];
  for (const { name, content } of nobody) {
    test(`readLockOwner gives null when ${name}`, async () => {
      const folder = await stateDir();
      if (content) await writeFile(lockIn(folder), content());
      assert.equal(await readLockOwner(lockIn(folder)), null);
    });
  }

  test('processStart is the same number each time for a running process and null for a dead one', async () => {
    const first = await processStart(process.pid);
    assert.match(first ?? '', /^\d+$/);
    assert.equal(await processStart(process.pid), first);
    assert.notEqual(await processStart(1), first, 'another process started at another time');
    assert.equal(await processStart(deadPid()), null);
  });

  test('isAlive tells this process from a dead one and from a reused pid', async () => {
    const me = { pid: process.pid, processStart: await processStart(process.pid) };
    assert.equal(await isAlive(me), true);
    assert.equal(await isAlive({ pid: process.pid, processStart: null }), true);
    assert.equal(await isAlive({ pid: process.pid, processStart: '1' }), false);
    assert.equal(await isAlive({ pid: deadPid(), processStart: null }), false);
  });
});

describe('the lock between processes', () => {
  test('a lock held by another live process is refused and named, and taken once it is killed', async () => {
    const folder = await stateDir();
    const { child } = await start([holdHelper, folder], 'locked');
    try {
      await assert.rejects(acquireLock(lockIn(folder), owner('second')), (error: unknown) => {
        assert.ok(error instanceof AgentError);
        assert.equal(error.code, 'ALREADY_RUNNING');
        assert.match(error.message, new RegExp(`run holder, manual, pid ${child.pid}\\)`));
        return true;
      });
      assert.equal((await readLockOwner(lockIn(folder)))?.pid, child.pid);
    } finally {
      await kill(child);
    }
    assert.equal(await readLockOwner(lockIn(folder)), null, 'a killed holder holds nothing');
    const lock = await acquireLock(lockIn(folder), owner('after'));
    assert.equal(lock.owner.runId, 'after');
    await lock.release();
  });

  /** Starts four racers, lets them go at once, and returns who won and what the others said. */
  async function race(folder: string): Promise<{ winners: ChildProcess[]; refusals: string[] }> {
    const racers = await Promise.all(
      [1, 2, 3, 4].map((index) => start([raceHelper, folder, `racer-${index}`], 'ready')),
    );
    try {
      for (const { child } of racers) child.stdin?.write('go\n');
      const results = await Promise.all(
        racers.map(
          ({ child, output }) =>
            new Promise<string>((resolve) => {
              const check = (): void => {
                const said = output.find((line) => line === 'locked' || line.startsWith('refused'));
                if (said) resolve(said);
              };
              child.stdout?.on('data', () => setImmediate(check));
              child.once('exit', () => setImmediate(check));
              check();
            }),
        ),
      );
      const winners = racers.filter((_, index) => results[index] === 'locked').map((r) => r.child);
      const refusals = results.filter((result) => result !== 'locked');
      for (const { child } of racers) {
        if (!winners.includes(child)) assert.equal(await exited(child), 3, 'a loser exits 3');
      }
      return { winners, refusals };
    } catch (error) {
      await Promise.all(racers.map(({ child }) => kill(child)));
      throw error;
    }
  }

  test('of four processes racing for a free lock exactly one gets it', async () => {
    for (let round = 1; round <= 3; round += 1) {
      const folder = await stateDir();
      const { winners, refusals } = await race(folder);
      try {
        assert.equal(winners.length, 1, `round ${round}: one winner`);
        assert.deepEqual(refusals, Array(3).fill('refused ALREADY_RUNNING'), `round ${round}`);
        assert.equal((await readLockOwner(lockIn(folder)))?.pid, winners[0]?.pid);
        assert.deepEqual(await leftovers(folder), [], `round ${round}: nothing left aside`);
      } finally {
        await Promise.all(winners.map(kill));
      }
    }
  });

  test('of four processes racing for a stale lock exactly one takes it over', async () => {
    for (let round = 1; round <= 3; round += 1) {
      const folder = await stateDir();
      await writeLock(lockIn(folder), { pid: deadPid(), processStart: '1', runId: 'dead' });
      const { winners, refusals } = await race(folder);
      try {
        assert.equal(winners.length, 1, `round ${round}: one winner`);
        assert.deepEqual(refusals, Array(3).fill('refused ALREADY_RUNNING'), `round ${round}`);
        const holder = await readLockOwner(lockIn(folder));
        assert.equal(holder?.pid, winners[0]?.pid);
        assert.match(holder?.runId ?? '', /^racer-\d$/);
        assert.deepEqual(await leftovers(folder), [], `round ${round}: no guard left`);
      } finally {
        await Promise.all(winners.map(kill));
      }
    }
  });
});
