import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readBackOriginals, type ReadBackItem } from '../../../src/verify/read-back.js';

const sha1 = (content: string | Buffer): string => createHash('sha1').update(content).digest('hex');

describe('the hash engine reads originals on the drive back against their SHA-1', () => {
  let root: string;
  let files: string;
  const items: ReadBackItem[] = [];

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'read-back-'));
    files = path.join(root, 'files');
    for (let index = 0; index < 40; index += 1) {
      const relative = `library/admin/2024/IMG_${index} "ü" 📷.jpg`;
      await mkdir(path.dirname(path.join(files, relative)), { recursive: true });
      const content = `Immich test photo ${index}`;
      await writeFile(path.join(files, relative), content);
      items.push({ path: relative, sha1: sha1(content) });
    }
    // One larger than the 1 MiB buffer, to read in several chunks.
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    await writeFile(path.join(files, 'library/admin/2024/big.mp4'), big);
    items.push({ path: 'library/admin/2024/big.mp4', sha1: sha1(big) });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a good drive: every file read, every byte counted, nothing named', async () => {
    const result = await readBackOriginals(files, items);
    assert.equal(result.checkedFiles, 41);
    let small = 0;
    for (let index = 0; index < 40; index += 1)
      small += Buffer.byteLength(`Immich test photo ${index}`);
    assert.equal(result.checkedBytes, 3 * 1024 * 1024 + 17 + small);
    assert.equal(result.done, 41);
    assert.equal(result.stoppedEarly, false);
    for (const list of [result.mismatches, result.missing, result.notFollowed, result.unreadable])
      assert.deepEqual(list, { count: 0, names: [] });
  });

  test('a flipped byte is a mismatch named; a deleted file is missing; only those', async () => {
    const flipped = items[3] as ReadBackItem;
    await writeFile(path.join(files, flipped.path), 'Immich test photo 3'.replace('3', '4'));
    const gone = items[7] as ReadBackItem;
    await rm(path.join(files, gone.path));
    try {
      const result = await readBackOriginals(files, items, { parallel: 3 });
      assert.deepEqual(result.mismatches, { count: 1, names: [flipped.path] });
      assert.deepEqual(result.missing, { count: 1, names: [gone.path] });
      assert.equal(result.checkedFiles, 40);
      assert.equal(result.done, 41);
    } finally {
      await writeFile(path.join(files, flipped.path), 'Immich test photo 3');
      await writeFile(path.join(files, gone.path), 'Immich test photo 7');
    }
  });

  test('a file the drive cannot store is not storable, not missing', async () => {
    const result = await readBackOriginals(
      files,
      [{ path: 'library/admin/what?.jpg', sha1: sha1('x') }],
      { notStorable: (file) => file.includes('?') },
    );
    assert.deepEqual(result.notStorable, { count: 1, names: ['library/admin/what?.jpg'] });
    assert.equal(result.missing.count, 0);
  });

  test('a symlink planted on the drive is not followed, and is reported with its item', async () => {
    const secret = path.join(root, 'outside.txt');
    await writeFile(secret, 'Immich test photo 0');
    await symlink(secret, path.join(files, 'library/admin/link.jpg'));
    await symlink(path.join(root), path.join(files, 'library/linked-folder'));
    const reported: string[] = [];
    const result = await readBackOriginals(
      files,
      [
        { path: 'library/admin/link.jpg', sha1: sha1('Immich test photo 0') },
        { path: 'library/linked-folder/outside.txt', sha1: sha1('Immich test photo 0') },
      ],
      { onProblem: (kind, item) => reported.push(`${kind} ${item.path}`) },
    );
    assert.equal(result.checkedFiles, 0, 'nothing read through a link');
    // Read in parallel: the order they finish in is not the order given.
    assert.deepEqual(result.notFollowed.names.sort(), [
      'library/admin/link.jpg (is a symlink)',
      'library/linked-folder/outside.txt (library/linked-folder is a symlink)',
    ]);
    assert.deepEqual(reported.sort(), [
      'notFollowed library/admin/link.jpg',
      'notFollowed library/linked-folder/outside.txt',
    ]);
  });

  test('the budget stops it early; what was in flight is not counted, done is a prefix', async () => {
    let clock = 0;
    const result = await readBackOriginals(files, items, {
      parallel: 2,
      budgetMs: 10,
      // Every look at the clock is a millisecond later.
      now: () => (clock += 1),
    });
    assert.equal(result.stoppedEarly, true);
    assert.ok(result.done < items.length, `done ${result.done}`);
    assert.ok(result.checkedFiles >= result.done);
  });

  test('an aborted signal stops it before anything is read', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await readBackOriginals(files, items, { signal: controller.signal });
    assert.equal(result.checkedFiles, 0);
    assert.equal(result.stoppedEarly, true);
  });

  test('names are capped, counts are not; an async source works as well as an array', async () => {
    async function* absent(): AsyncGenerator<ReadBackItem> {
      for (let index = 0; index < 25; index += 1) {
        await Promise.resolve();
        yield { path: `library/none/${index}.jpg`, sha1: sha1('') };
      }
    }
    const result = await readBackOriginals(files, absent(), { namesCap: 5 });
    assert.equal(result.missing.count, 25);
    assert.equal(result.missing.names.length, 5);
    assert.equal(result.done, 25);
  });
});
