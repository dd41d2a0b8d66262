import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Outcome, RunRecord } from '../../../src/history/record.js';
import { createHistoryStore } from '../../../src/history/store.js';
import { recordFileName } from '../../../src/layout/state-folder.js';

let root: string;
const freshFolder = (): Promise<string> => mkdtemp(path.join(root, 'state-'));

function record(
  id: string,
  outcome: Outcome,
  finishedAt: string,
  startedAt = finishedAt,
): RunRecord {
  return {
    id,
    trigger: 'manual',
    outcome,
    reason: outcome === 'success' ? null : 'SOMETHING',
    message: `Run ${id} ended ${outcome}.`,
    hint: null,
    startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
    dryRun: false,
    forced: false,
    drive: null,
    database: null,
    files: null,
    config: null,
    server: null,
    power: { decision: 'not-applicable', reason: 'manual run' },
    unplug: null,
    verify: null,
    guard: null,
    catchUp: false,
    nextDueAt: null,
    warnings: [],
    errors: [],
    agentVersion: '0.1.0',
    hostname: 'test-host',
  };
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'history-store-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('recordFileName', () => {
  test('the name is the finish time without colons or dots, then the id', () => {
    assert.equal(
      recordFileName({ finishedAt: '2025-01-12T02:41:07.123Z', id: 'abc123' }),
      '2025-01-12T02-41-07-123Z-abc123.json',
    );
  });

  test('names sort in the order of the finish times', () => {
    const times = [
      '2025-01-12T02:41:07.123Z',
      '2024-12-31T23:59:59.999Z',
      '2025-01-12T02:41:07.124Z',
      '2025-01-02T00:00:00.000Z',
    ];
    const byName = times
      .map((finishedAt) => ({ finishedAt, name: recordFileName({ finishedAt, id: 'x' }) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((entry) => entry.finishedAt);
    assert.deepEqual(byName, [...times].sort());
  });
});

describe('the history store', () => {
  test('an empty or missing state folder has no latest run', async () => {
    const store = createHistoryStore(path.join(root, 'never-created'));
    assert.equal(await store.latest(), null);
    assert.equal(await store.latestSuccess(), null);
  });

  test('a written record is read back as it was', async () => {
    const store = createHistoryStore(await freshFolder());
    const written = record('one', 'success', '2025-01-12T02:41:07.123Z');
    await store.write(written);
    assert.deepEqual(await store.latest(), written);
    assert.deepEqual(await store.latestSuccess(), written);
  });

  test('latest is the run that finished last, not the one written last or started last', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    // Written out of order; the long run started first but finished last.
    await store.write(
      record('long', 'success', '2025-01-12T05:00:00.000Z', '2025-01-12T02:05:00.000Z'),
    );
    await store.write(
      record('short', 'failed', '2025-01-12T03:00:00.000Z', '2025-01-12T02:59:00.000Z'),
    );
    await store.write(record('older', 'skipped', '2025-01-05T02:06:00.000Z'));
    assert.equal((await store.latest())?.id, 'long');
  });

  test('latest and has, per drive', async () => {
    const store = createHistoryStore(await freshFolder());
    const onDrive = (id: string, uuid: string, finishedAt: string): RunRecord => ({
      ...record(id, 'failed', finishedAt),
      drive: { uuid, mountPoint: null, device: null, filesystemType: null, mountedByAgent: false },
    });
    await store.write(onDrive('a1', 'AAAA-1111', '2025-01-12T02:00:00.000Z'));
    await store.write(onDrive('b1', 'bbbb-2222', '2025-01-12T03:00:00.000Z'));
    assert.equal((await store.latest())?.id, 'b1');
    assert.equal((await store.latest('aaaa-1111'))?.id, 'a1', 'UUIDs match in any case');
    assert.equal(await store.latest('cccc-3333'), null);
    // a0 used the drive (its device is on record); a1 ended before finding it.
    await store.write({
      ...record('a0', 'interrupted', '2025-01-12T01:00:00.000Z'),
      drive: {
        uuid: 'aaaa-1111',
        mountPoint: '/mnt/b',
        device: '/dev/sdb1',
        filesystemType: 'ext4',
        mountedByAgent: true,
      },
    });
    assert.equal((await store.latestUsing('AAAA-1111'))?.id, 'a0');
    assert.equal(await store.latestUsing('bbbb-2222'), null);
    assert.equal(await store.has('a1'), true);
    assert.equal(await store.has('a'), false, 'a whole id, not a prefix');
  });

  const successes: { name: string; outcomes: [string, Outcome][]; latestSuccess: string | null }[] =
    [
      {
        name: 'failed, skipped and interrupted runs are passed over',
        outcomes: [
          ['good', 'success'],
          ['bad', 'failed'],
          ['absent', 'skipped'],
          ['stopped', 'interrupted'],
        ],
        latestSuccess: 'good',
      },
      {
        name: 'a run with warnings counts as a success',
        outcomes: [
          ['good', 'success'],
          ['warned', 'warning'],
          ['bad', 'failed'],
        ],
        latestSuccess: 'warned',
      },
      {
        name: 'without any success there is none',
        outcomes: [
          ['bad', 'failed'],
          ['absent', 'skipped'],
        ],
        latestSuccess: null,
      },
    ];
  for (const { name, outcomes, latestSuccess } of successes) {
    test(`latestSuccess: ${name}`, async () => {
      const store = createHistoryStore(await freshFolder());
      for (const [index, [id, outcome]] of outcomes.entries()) {
        await store.write(record(id, outcome, `2025-01-0${index + 1}T02:30:00.000Z`));
      }
      assert.equal((await store.latestSuccess())?.id ?? null, latestSuccess);
      assert.equal((await store.latest())?.id, outcomes.at(-1)?.[0]);
    });
  }

  test('a damaged record does not hide the others', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    await store.write(record('good', 'success', '2025-01-05T02:30:00.000Z'));
    await store.write(record('failed', 'failed', '2025-01-06T02:30:00.000Z'));
    // The newest record is cut short, as a disk error or a hand edit could leave it.
    await writeFile(
      path.join(folder, 'runs', '2025-01-12T02-30-00-000Z-damaged.json'),
      '{"id": "dam',
    );
    await writeFile(path.join(folder, 'runs', '2025-01-13T02-30-00-000Z-empty.json'), '');
    assert.equal((await store.latest())?.id, 'failed');
    assert.equal((await store.latestSuccess())?.id, 'good');
  });

  test('files that are not records are ignored', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    await store.write(record('real', 'success', '2025-01-05T02:30:00.000Z'));
    const runs = path.join(folder, 'runs');
    await writeFile(
      path.join(runs, 'notes.json'),
      JSON.stringify(record('notes', 'success', '2030-01-01T00:00:00.000Z')),
    );
    await writeFile(
      path.join(runs, '.2030-01-01T00-00-00-000Z-x.json.partial-abcd'),
      JSON.stringify(record('partial', 'success', '2030-01-01T00:00:00.000Z')),
    );
    await writeFile(path.join(runs, '2030-01-01T00-00-00-000Z-x.json.bak'), '{}');
    assert.equal((await store.latest())?.id, 'real');
  });

  test('a record is written whole under its name, root’s alone whatever the umask, with no partial file left', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    const written = record('atomic', 'success', '2025-01-12T02:41:07.123Z');
    const umask = process.umask(0);
    try {
      await store.write(written);
    } finally {
      process.umask(umask);
    }
    const runs = path.join(folder, 'runs');
    assert.deepEqual(await readdir(runs), [recordFileName(written)]);
    const file = path.join(runs, recordFileName(written));
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), written);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(runs)).mode & 0o777, 0o700);
  });

  test('a reader never sees a half-written record while the same record is rewritten', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    const base = record('busy', 'success', '2025-01-12T02:41:07.123Z');
    const file = path.join(folder, 'runs', recordFileName(base));
    await store.write(base);
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const parsed = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
        assert.equal(parsed.id, 'busy');
        reads += 1;
      }
    })();
    try {
      for (let version = 0; version < 30; version += 1) {
        // Large enough that writing it takes more than one write call.
        await store.write({ ...base, warnings: [String(version).repeat(200_000)] });
      }
    } finally {
      writing = false;
      await reader;
    }
    assert.ok(reads > 0, 'the reader read while the writer wrote');
    assert.deepEqual((await store.latest())?.warnings, ['29'.repeat(200_000)]);
  });

  test('records of the same finish time are kept apart by their ids', async () => {
    const folder = await freshFolder();
    const store = createHistoryStore(folder);
    await store.write(record('a', 'failed', '2025-01-12T02:41:07.123Z'));
    await store.write(record('b', 'success', '2025-01-12T02:41:07.123Z'));
    assert.equal((await readdir(path.join(folder, 'runs'))).length, 2);
    assert.equal((await store.latestSuccess())?.id, 'b');
  });

  test('the runs folder is created when the state folder exists without it', async () => {
    const folder = path.join(await freshFolder(), 'nested', 'state');
    await mkdir(folder, { recursive: true });
    const store = createHistoryStore(folder);
    await store.write(record('first', 'success', '2025-01-12T02:41:07.123Z'));
    assert.equal((await store.latest())?.id, 'first');
  });
});
