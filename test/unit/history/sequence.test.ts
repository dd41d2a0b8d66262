import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSequenceCounter } from '../../../src/history/sequence.js';

let root: string;
const freshFolder = async (): Promise<string> =>
  path.join(await mkdtemp(path.join(root, 'state-')), 'sequence');

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sequence-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the record counter', () => {
  test('counts up from one, run by run, and gives a run the number it has already', async () => {
    const counter = createSequenceCounter(await freshFolder());
    assert.equal(await counter.forRun('a', 0), 1);
    assert.equal(
      await counter.forRun('a', 0),
      1,
      'the same run, its drive copy then its state copy',
    );
    assert.equal(await counter.forRun('b', 0), 2);
    assert.equal(await counter.forRun('c', 0), 3);
  });

  test('many processes counting at once never get the same number', async () => {
    const folder = await freshFolder();
    // Separate counters over one folder, as separate processes have.
    const numbers = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        createSequenceCounter(folder).forRun(`run-${index}`, 0),
      ),
    );
    assert.deepEqual(
      [...numbers].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, index) => index + 1),
    );
  });

  test('keeps only its highest claim, root’s alone, and no file aside', async () => {
    const folder = await freshFolder();
    const counter = createSequenceCounter(folder);
    for (const id of ['a', 'b', 'c']) await counter.forRun(id, 0);
    assert.deepEqual(await readdir(folder), ['3']);
    assert.equal((await stat(folder)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(folder, '3'))).mode & 0o777, 0o600);
  });

  test('a lost counter starts above the highest number on record, never below', async () => {
    const folder = await freshFolder();
    await createSequenceCounter(folder).forRun('a', 0);
    await rm(folder, { recursive: true });
    assert.equal(await createSequenceCounter(folder).forRun('b', 41), 42);
    assert.equal(
      await createSequenceCounter(folder).forRun('c', 5),
      43,
      'nor below its own count when records were pruned',
    );
  });
});
