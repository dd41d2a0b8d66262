import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImmichChecksum } from '../../../src/adapters/immich-checksums.js';
import { openFolder } from '../../../src/restore/no-follow.js';
import { checkCopiedOriginals } from '../../../src/run/steps/recheck-originals.js';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const row = (content: string): ImmichChecksum => ({
  checksum: sha1(content),
  algorithm: 'sha1',
  isExternal: false,
});

describe('after the copy, a replaced original whose new copy does not match is put back', () => {
  let root: string;
  let files: string;
  let versions: string;
  const held: FileHandle[] = [];

  /** files/<relative> holds `now`, versions/<relative> the previous copy (as rsync --backup leaves them). */
  async function copied(relative: string, now: string, previous: string | null): Promise<void> {
    await mkdir(path.dirname(path.join(files, relative)), { recursive: true });
    await writeFile(path.join(files, relative), now);
    if (previous === null) return;
    await mkdir(path.dirname(path.join(versions, relative)), { recursive: true });
    await writeFile(path.join(versions, relative), previous);
  }

  async function check(relatives: string[], database: Record<string, ImmichChecksum[]>) {
    const proved: string[] = [];
    const filesDir = await openFolder(files);
    const versionsDir = await openFolder(versions);
    held.push(filesDir, versionsDir);
    const result = await checkCopiedOriginals(relatives, {
      lookup: (paths) =>
        Promise.resolve(
          new Map(paths.filter((item) => database[item]).map((item) => [item, database[item]!])),
        ),
      uploadMounts: ['/data'],
      filesDir,
      versionsDir,
      prove: (folder) => {
        proved.push(folder);
        return Promise.resolve();
      },
      signal: new AbortController().signal,
    });
    return { result, proved };
  }

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'recheck-originals-'));
    files = path.join(root, 'files');
    versions = path.join(root, 'versions', '2026-12-07');
    await mkdir(files, { recursive: true });
    await mkdir(versions, { recursive: true });
  });
  after(async () => {
    for (const handle of held) await handle.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  test('damaged after the check: the previous copy comes back from versions/, a good new copy stays', async () => {
    await copied('library/a/damaged.jpg', 'encrypted!', 'original');
    await copied('upload/u/reupload.jpg', 'new upload', 'old upload');
    await copied('profile/u/avatar.png', 'new avatar', 'old avatar');
    const { result, proved } = await check(
      ['library/a/damaged.jpg', 'upload/u/reupload.jpg', 'profile/u/avatar.png'],
      {
        '/data/library/a/damaged.jpg': [row('original')],
        '/data/upload/u/reupload.jpg': [row('new upload')],
      },
    );
    assert.deepEqual(result, {
      checked: 2,
      putBack: ['library/a/damaged.jpg'],
      notPutBack: [],
      unknown: 1,
    });
    assert.equal(await readFile(path.join(files, 'library/a/damaged.jpg'), 'utf8'), 'original');
    await assert.rejects(stat(path.join(versions, 'library/a/damaged.jpg')), 'moved, not copied');
    assert.equal(await readFile(path.join(files, 'upload/u/reupload.jpg'), 'utf8'), 'new upload');
    assert.equal(
      await readFile(path.join(versions, 'upload/u/reupload.jpg'), 'utf8'),
      'old upload',
    );
    assert.equal(await readFile(path.join(files, 'profile/u/avatar.png'), 'utf8'), 'new avatar');
    assert.equal(proved.length, 2, 'both folders proven on the drive before the rename');
    assert.ok(proved.every((folder) => folder.startsWith('/proc/self/fd/')));
  });

  test('no previous copy, or a symlink on the way in versions/: nothing is moved, the file is named', async () => {
    await copied('library/b/nothing-kept.jpg', 'encrypted!', null);
    await copied('library/c/through-link.jpg', 'encrypted!', null);
    const elsewhere = path.join(root, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(path.join(elsewhere, 'through-link.jpg'), 'planted');
    await mkdir(path.join(versions, 'library'), { recursive: true });
    await symlink(elsewhere, path.join(versions, 'library/c'));
    const { result } = await check(['library/b/nothing-kept.jpg', 'library/c/through-link.jpg'], {
      '/data/library/b/nothing-kept.jpg': [row('original')],
      '/data/library/c/through-link.jpg': [row('original')],
    });
    assert.deepEqual(result.putBack, []);
    assert.deepEqual(
      result.notPutBack.map((item) => item.path),
      ['library/b/nothing-kept.jpg', 'library/c/through-link.jpg'],
    );
    assert.match(result.notPutBack[1]?.why ?? '', /symlink/);
    assert.equal(await readFile(path.join(elsewhere, 'through-link.jpg'), 'utf8'), 'planted');
    assert.equal(
      await readFile(path.join(files, 'library/c/through-link.jpg'), 'utf8'),
      'encrypted!',
    );
  });

  test('a new copy on the drive that is a symlink is not read through: not judged', async () => {
    await mkdir(path.join(files, 'library/d'), { recursive: true });
    await writeFile(path.join(root, 'secret'), 'original');
    await symlink(path.join(root, 'secret'), path.join(files, 'library/d/link.jpg'));
    const { result } = await check(['library/d/link.jpg'], {
      '/data/library/d/link.jpg': [row('original')],
    });
    assert.deepEqual(result, { checked: 0, putBack: [], notPutBack: [], unknown: 1 });
  });
});
