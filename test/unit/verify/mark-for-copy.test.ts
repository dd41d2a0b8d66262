import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { markForCopyAgain } from '../../../src/verify/mark-for-copy.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mark-for-copy-'));
  await mkdir(path.join(root, 'files', 'library'), { recursive: true });
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(root, 'files', 'library', 'rotten "1" 📷.jpg'), 'rotten');
  await writeFile(path.join(root, 'outside', 'target.jpg'), 'not on the drive');
  await symlink(
    path.join(root, 'outside', 'target.jpg'),
    path.join(root, 'files', 'library', 'link.jpg'),
  );
  await symlink(path.join(root, 'outside'), path.join(root, 'files', 'linked-folder'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('a mismatching copy gets the time rsync copies again; links and missing files are left alone', async () => {
  const marked = await markForCopyAgain(path.join(root, 'files'), [
    'library/rotten "1" 📷.jpg',
    'library/link.jpg',
    'linked-folder/target.jpg',
    'library/gone.jpg',
  ]);
  assert.deepEqual(marked, ['library/rotten "1" 📷.jpg']);
  assert.equal((await stat(path.join(root, 'files', 'library', 'rotten "1" 📷.jpg'))).mtimeMs, 0);
  assert.notEqual(
    (await stat(path.join(root, 'outside', 'target.jpg'))).mtimeMs,
    0,
    'no link followed',
  );
});
