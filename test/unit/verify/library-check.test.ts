import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkLibraryCopy } from '../../../src/verify/library-check.js';

describe('the library copy check and originals the backup kept on purpose', () => {
  let root: string;
  const library = (): string => path.join(root, 'library');
  const files = (): string => path.join(root, 'files');
  const put = async (folder: string, relative: string, content: string): Promise<void> => {
    await mkdir(path.dirname(path.join(folder, relative)), { recursive: true });
    await writeFile(path.join(folder, relative), content);
  };

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'library-check-'));
    await put(library(), 'library/admin/good.jpg', 'the same');
    await put(files(), 'library/admin/good.jpg', 'the same');
    // Encrypted in the library (longer), the good copy kept on the drive.
    await put(library(), 'library/admin/damaged.jpg', 'encrypted, and longer than before');
    await put(files(), 'library/admin/damaged.jpg', 'the good copy');
    // The same size, other content: only the sample would see it.
    await put(library(), 'library/admin/flipped.jpg', 'AAAA');
    await put(files(), 'library/admin/flipped.jpg', 'BBBB');
    // Another size, and not kept on purpose: a real gap.
    await put(library(), 'upload/u/other.jpg', 'a longer library copy');
    await put(files(), 'upload/u/other.jpg', 'short');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a kept good copy is named as kept, never as a difference, whatever the sample', async () => {
    const later = new Date(Date.now() + 60_000);
    const result = await checkLibraryCopy(library(), files(), later, 100, {
      keptGood: new Set(['library/admin/damaged.jpg', 'library/admin/flipped.jpg']),
    });
    assert.deepEqual(result.keptGood.sort(), [
      'library/admin/damaged.jpg',
      'library/admin/flipped.jpg',
    ]);
    assert.deepEqual(result.sizeDiffers, ['upload/u/other.jpg']);
    assert.deepEqual(result.contentDiffers, [], 'the sample reads only copies that should match');
    assert.equal(result.sampled, 1);
    assert.equal(result.checked, 4);
  });

  test('without the record of them, the damaged originals are differences', async () => {
    const later = new Date(Date.now() + 60_000);
    const result = await checkLibraryCopy(library(), files(), later, 100);
    assert.deepEqual(result.sizeDiffers.sort(), [
      'library/admin/damaged.jpg',
      'upload/u/other.jpg',
    ]);
    assert.deepEqual(result.contentDiffers, ['library/admin/flipped.jpg']);
  });
});
