import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { copiesAsOf } from '../../../src/drive-content/versions.js';
import { AgentError } from '../../../src/errors.js';

let backupDir: string;
const put = async (relative: string, text: string): Promise<void> => {
  await mkdir(path.dirname(path.join(backupDir, relative)), { recursive: true });
  await writeFile(path.join(backupDir, relative), text);
};

before(async () => {
  backupDir = await mkdtemp(path.join(os.tmpdir(), 'versions-test-'));
  // a.jpg replaced on the 10th and again on the 20th; b.jpg never.
  await put('files/upload/a.jpg', 'a now');
  await put('files/upload/b.jpg', 'b');
  await put('versions/2026-11-10/upload/a.jpg', 'a before the 10th');
  await put('versions/2026-11-20/upload/a.jpg', 'a before the 20th');
});
after(async () => {
  await rm(backupDir, { recursive: true, force: true });
});

test('a folder as on a date: the earliest version replaced after that day, else files/', async () => {
  const pick = async (date: string): Promise<Record<string, string>> =>
    Object.fromEntries((await copiesAsOf(backupDir, 'upload', date)).copies);
  assert.deepEqual(await pick('2026-11-05'), {
    'upload/a.jpg': 'versions/2026-11-10/upload/a.jpg',
    'upload/b.jpg': 'files/upload/b.jpg',
  });
  assert.deepEqual(await pick('2026-11-15'), {
    'upload/a.jpg': 'versions/2026-11-20/upload/a.jpg',
    'upload/b.jpg': 'files/upload/b.jpg',
  });
  assert.deepEqual(await pick('2026-11-25'), {
    'upload/a.jpg': 'files/upload/a.jpg',
    'upload/b.jpg': 'files/upload/b.jpg',
  });
});

test('a path that is absolute, holds .. or a NUL, or names nothing is refused', async () => {
  for (const escape of [
    '../etc',
    'upload/../../x',
    '..',
    'upload/../b.jpg',
    '/etc/shadow',
    'upload/a\0',
    '',
    './',
  ]) {
    await assert.rejects(
      copiesAsOf(backupDir, escape, '2026-11-25'),
      (error: unknown) => error instanceof AgentError && error.code === 'CONFIG_INVALID',
      escape,
    );
  }
  assert.equal((await copiesAsOf(backupDir, 'upload/./a.jpg', '2026-11-25')).copies.size, 1);
});

test('symlinks and special files on the drive are named as skipped, never taken', async () => {
  await symlink('/etc/shadow', path.join(backupDir, 'files/upload/shadow'));
  await symlink('/etc', path.join(backupDir, 'versions/2026-11-20/upload/etc'));
  try {
    const { copies, skipped } = await copiesAsOf(backupDir, 'upload', '2026-11-15');
    assert.deepEqual([...copies.keys()].sort(), ['upload/a.jpg', 'upload/b.jpg']);
    assert.deepEqual(skipped.map((entry) => entry.entry).sort(), [
      'files/upload/shadow',
      'versions/2026-11-20/upload/etc',
    ]);
    const direct = await copiesAsOf(backupDir, 'upload/shadow', '2026-11-15');
    assert.equal(direct.copies.size, 0);
    assert.deepEqual(direct.skipped, [{ entry: 'files/upload/shadow', why: 'is a symlink' }]);
  } finally {
    await rm(path.join(backupDir, 'files/upload/shadow'));
    await rm(path.join(backupDir, 'versions/2026-11-20/upload/etc'));
  }
});
