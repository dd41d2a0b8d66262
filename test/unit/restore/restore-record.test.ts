import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  latestRestore,
  writeRestoreRecord,
  type RestoreRecord,
} from '../../../src/restore/restore-record.js';

function restore(id: string, finishedAt: string): RestoreRecord {
  return {
    id,
    kind: 'restore',
    dump: null,
    format: null,
    database: false,
    files: null,
    server: null,
    outcome: 'success',
    reason: null,
    message: `restore ${id}`,
    startedAt: finishedAt,
    finishedAt,
  };
}

test('restore records are ordered by the sequence, not the clock: one written while the clock was ahead hides no later one', async () => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'restore-record-'));
  try {
    await writeRestoreRecord(stateDir, restore('ahead', '2027-11-30T02:00:00.000Z'));
    await writeRestoreRecord(stateDir, restore('later', '2026-11-30T02:00:00.000Z'));
    assert.equal((await latestRestore(stateDir))?.id, 'later');
    const folder = path.join(stateDir, 'restores');
    const names = (await readdir(folder)).sort();
    assert.match(names[0] ?? '', /^seq-0+1-ahead\.json$/);
    assert.match(names[1] ?? '', /^seq-0+2-later\.json$/);
    assert.equal((await stat(path.join(folder, names[1] ?? ''))).mode & 0o777, 0o600);
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('a restore record from before numbers (named by its finish time) lists before the numbered ones', async () => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'restore-record-'));
  try {
    const folder = path.join(stateDir, 'restores');
    await mkdir(folder, { recursive: true });
    const old = restore('old', '2099-01-01T00:00:00.000Z');
    await writeFile(path.join(folder, '2099-01-01T00-00-00-000Z-old.json'), JSON.stringify(old));
    assert.equal((await latestRestore(stateDir))?.id, 'old');
    await writeRestoreRecord(stateDir, restore('new', '2026-11-30T02:00:00.000Z'));
    assert.equal((await latestRestore(stateDir))?.id, 'new');
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
