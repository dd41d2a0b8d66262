import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Outcome, RunRecord } from '../../../src/history/record.js';
import { createHistoryStore, runRecordFileName } from '../../../src/history/store.js';

let root: string;
const freshFolder = (): Promise<string> => mkdtemp(path.join(root, 'state-'));
/** The state folder's history: it numbers what it writes (its counter in `sequence/`). */
const stateStore = (folder: string) => createHistoryStore(folder, path.join(folder, 'sequence'));

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

describe('runRecordFileName', () => {
  test('the name is the sequence, zero-padded, then the id', () => {
    assert.equal(runRecordFileName(42, 'abc123'), 'seq-000000000042-abc123.json');
  });

  test('names sort in the order of the sequence', () => {
    const sequences = [10, 9, 1000, 1, 100];
    const byName = sequences
      .map((sequence) => ({ sequence, name: runRecordFileName(sequence, 'x') }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((entry) => entry.sequence);
    assert.deepEqual(
      byName,
      [...sequences].sort((a, b) => a - b),
    );
  });
});

describe('the history store', () => {
  test('an empty or missing state folder has no latest run', async () => {
    const store = stateStore(path.join(root, 'never-created'));
    assert.equal(await store.latest(), null);
    assert.equal(await store.latestSuccess(), null);
  });

  test('a written record is read back as it was', async () => {
    const store = stateStore(await freshFolder());
    const written = await store.write(record('one', 'success', '2025-01-12T02:41:07.123Z'));
    assert.deepEqual(written, {
      ...record('one', 'success', '2025-01-12T02:41:07.123Z'),
      sequence: 1,
    });
    assert.deepEqual(await store.latest(), written);
    assert.deepEqual(await store.latestSuccess(), written);
  });

  test('latest is the run recorded last, whatever times it carries', async () => {
    const store = stateStore(await freshFolder());
    // A clock that jumped a year ahead, then back: the later runs carry earlier times.
    await store.write(record('ahead', 'success', '2026-01-12T05:00:00.000Z'));
    await store.write(record('back', 'failed', '2025-01-12T03:00:00.000Z'));
    await store.write(record('after', 'success', '2025-01-13T02:06:00.000Z'));
    assert.equal((await store.latest())?.id, 'after');
    assert.equal((await store.latestSuccess())?.id, 'after');
    assert.deepEqual(
      (await store.successes()).map((one) => one.id),
      ['ahead', 'after'],
    );
  });

  test('records of versions before the sequence still read, and come before every numbered one', async () => {
    const folder = await freshFolder();
    const runs = path.join(folder, 'runs');
    await mkdir(runs, { recursive: true });
    // Named by finish time, as earlier versions did; one of them from a clock far ahead.
    const old = async (id: string, outcome: Outcome, finishedAt: string): Promise<void> => {
      const name = `${finishedAt.replace(/[:.]/g, '-')}-${id}.json`;
      await writeFile(path.join(runs, name), JSON.stringify(record(id, outcome, finishedAt)));
    };
    await old('old-future', 'success', '2030-01-01T00:00:00.000Z');
    await old('old-first', 'failed', '2025-01-01T00:00:00.000Z');
    const store = stateStore(folder);
    assert.equal((await store.latest())?.id, 'old-future', 'among themselves by finish time');
    const written = await store.write(record('new', 'failed', '2025-02-01T00:00:00.000Z'));
    assert.equal(written.sequence, 1, 'the counter starts at one');
    assert.equal((await store.latest())?.id, 'new');
    assert.equal((await store.latestSuccess())?.id, 'old-future');
    assert.equal(await store.has('old-first'), true);
  });

  test('the drive’s copy numbers nothing: a record must carry its sequence', async () => {
    const folder = await freshFolder();
    const drive = createHistoryStore(folder);
    await assert.rejects(drive.write(record('bare', 'success', '2025-01-12T02:00:00.000Z')));
    await drive.write({
      ...record('numbered', 'success', '2025-01-12T02:00:00.000Z'),
      sequence: 7,
    });
    assert.deepEqual(await readdir(path.join(folder, 'runs')), [runRecordFileName(7, 'numbered')]);
    assert.equal((await drive.latest())?.sequence, 7);
  });

  test('a run’s drive copy and state copy carry one number; the next run gets the next', async () => {
    const store = stateStore(await freshFolder());
    const first = await store.sequenceFor('run-1');
    assert.equal(await store.sequenceFor('run-1'), first);
    const written = await store.write(record('run-1', 'success', '2025-01-12T02:00:00.000Z'));
    assert.equal(written.sequence, first);
    assert.equal(await store.sequenceFor('run-2'), first + 1);
  });

  test('latest and has, per drive', async () => {
    const store = stateStore(await freshFolder());
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
      const store = stateStore(await freshFolder());
      for (const [index, [id, outcome]] of outcomes.entries()) {
        await store.write(record(id, outcome, `2025-01-0${index + 1}T02:30:00.000Z`));
      }
      assert.equal((await store.latestSuccess())?.id ?? null, latestSuccess);
      assert.equal((await store.latest())?.id, outcomes.at(-1)?.[0]);
    });
  }

  test('a damaged record does not hide the others', async () => {
    const folder = await freshFolder();
    const store = stateStore(folder);
    await store.write(record('good', 'success', '2025-01-05T02:30:00.000Z'));
    await store.write(record('failed', 'failed', '2025-01-06T02:30:00.000Z'));
    // The newest record is cut short, as a disk error or a hand edit could leave it.
    await writeFile(path.join(folder, 'runs', runRecordFileName(3, 'damaged')), '{"id": "dam');
    await writeFile(path.join(folder, 'runs', runRecordFileName(4, 'empty')), '');
    assert.equal((await store.latest())?.id, 'failed');
    assert.equal((await store.latestSuccess())?.id, 'good');
  });

  test('files that are not records are ignored', async () => {
    const folder = await freshFolder();
    const store = stateStore(folder);
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
    await writeFile(path.join(runs, `${runRecordFileName(99, 'y')}.bak`), '{}');
    await writeFile(path.join(runs, 'seq--z.json'), '{}');
    assert.equal((await store.latest())?.id, 'real');
  });

  test('a record is written whole under its name, root’s alone whatever the umask, with no partial file left', async () => {
    const folder = await freshFolder();
    const store = stateStore(folder);
    const umask = process.umask(0);
    let written;
    try {
      written = await store.write(record('atomic', 'success', '2025-01-12T02:41:07.123Z'));
    } finally {
      process.umask(umask);
    }
    const runs = path.join(folder, 'runs');
    assert.deepEqual(await readdir(runs), [runRecordFileName(1, 'atomic')]);
    const file = path.join(runs, runRecordFileName(1, 'atomic'));
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), written);
    assert.deepEqual(Object.keys(written).slice(0, 2), ['id', 'sequence'], 'next to its id');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(runs)).mode & 0o777, 0o700);
  });

  test('a reader never sees a half-written record while the same record is rewritten', async () => {
    const folder = await freshFolder();
    const store = stateStore(folder);
    const base = record('busy', 'success', '2025-01-12T02:41:07.123Z');
    const file = path.join(folder, 'runs', runRecordFileName(1, 'busy'));
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
    const store = stateStore(folder);
    await store.write(record('a', 'failed', '2025-01-12T02:41:07.123Z'));
    await store.write(record('b', 'success', '2025-01-12T02:41:07.123Z'));
    assert.equal((await readdir(path.join(folder, 'runs'))).length, 2);
    assert.equal((await store.latestSuccess())?.id, 'b');
  });

  test('the runs folder is created when the state folder exists without it', async () => {
    const folder = path.join(await freshFolder(), 'nested', 'state');
    await mkdir(folder, { recursive: true });
    const store = stateStore(folder);
    await store.write(record('first', 'success', '2025-01-12T02:41:07.123Z'));
    assert.equal((await store.latest())?.id, 'first');
  });
});
