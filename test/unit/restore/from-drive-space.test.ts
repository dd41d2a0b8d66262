import assert from 'node:assert/strict';
import { mkdir, rm, statfs, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatFromDrivePlan } from '../../../src/cli/restore-from-drive-text.js';
import { spaceLines, type RestoreSpace } from '../../../src/restore/from-drive-space.js';
import { plan, refusedWith, where, withBackup } from './from-drive-plan-fixture.js';

withBackup('space');

describe('restore --from-drive: space for the library', () => {
  test('the plan says how big the files are and how much is free where they go', async () => {
    const filesDir = path.join(where.backupDir, 'files');
    await mkdir(path.join(filesDir, 'library', 'admin'), { recursive: true });
    await writeFile(path.join(filesDir, 'library', 'admin', 'a.jpg'), Buffer.alloc(3000));
    // A link on the drive is not followed (nor counted) by the size.
    await symlink('/etc/passwd', path.join(filesDir, 'library', 'admin', 'link.jpg'));
    try {
      const planned = await plan();
      assert.ok(planned.space.files >= 1);
      const free = await statfs(where.root);
      assert.ok(planned.space.libraryFree > 0);
      assert.ok(Math.abs(planned.space.libraryFree - free.bavail * free.bsize) < 1024 ** 3);
      assert.equal(planned.space.sameFilesystem, true);
      assert.ok(planned.space.sqlBytes > 0, 'the dump read to its end gives its SQL size');
      assert.match(formatFromDrivePlan(planned), /Space: the backup's files are .* free/);
    } finally {
      await rm(path.join(filesDir, 'library'), { recursive: true, force: true });
    }
  });

  test('files bigger than the free space are refused before anything is written', async () => {
    const big = path.join(where.backupDir, 'files', 'huge.mp4');
    // Sparse: its size is more than the disk has free, its blocks nothing.
    const free = await statfs(where.root);
    await writeFile(big, '');
    await truncate(big, free.bavail * free.bsize + 1024 ** 3);
    try {
      const message = await refusedWith('NO_SPACE', plan());
      assert.match(message, /has .* free, and the backup's files take .*: they do not fit/);
      await assert.rejects(
        statfs(path.join(where.root, 'new', 'app')),
        'the app folder was not made',
      );
      // A fresh filesystem's lost+found is no library: still refused.
      const library = path.join(where.root, 'existing library');
      await mkdir(path.join(library, 'lost+found'), { recursive: true });
      await refusedWith('NO_SPACE', plan({ library }));
      // A library that already holds the files needs only what differs: said, not refused.
      await writeFile(path.join(library, 'huge.mp4'), '');
      await truncate(path.join(library, 'huge.mp4'), free.bavail * free.bsize + 1024 ** 3);
      const planned = await plan({ library });
      assert.equal(planned.space.libraryHoldsFiles, true);
      assert.match(spaceLines(planned.space)[0] ?? '', /only what differs is copied/);
      await rm(library, { recursive: true });
    } finally {
      await rm(big, { force: true });
    }
  });

  test("each file counts in whole blocks of the library's filesystem", async () => {
    const filesDir = path.join(where.backupDir, 'files', 'small');
    await mkdir(filesDir, { recursive: true });
    for (let index = 0; index < 20; index += 1)
      await writeFile(path.join(filesDir, `${index}.jpg`), 'x');
    try {
      const planned = await plan();
      const { bsize } = await statfs(where.root);
      assert.ok(planned.space.filesBytes >= 20 * bsize, `${planned.space.filesBytes} bytes`);
    } finally {
      await rm(filesDir, { recursive: true, force: true });
    }
  });

  test('a database that may not fit is a warning in the plan', () => {
    const space: RestoreSpace = {
      files: 10,
      filesBytes: 8e9,
      libraryFree: 10e9,
      libraryHoldsFiles: false,
      sqlBytes: 3e9,
      databaseFree: 10e9,
      sameFilesystem: true,
    };
    assert.match(spaceLines(space).join('\n'), /WARNING: the database may not fit/);
    assert.doesNotMatch(
      spaceLines({ ...space, sameFilesystem: false }).join('\n'),
      /WARNING/,
      'on another filesystem it has the whole free space',
    );
    assert.doesNotMatch(spaceLines({ ...space, sqlBytes: 1e9 }).join('\n'), /WARNING/);
  });
});
