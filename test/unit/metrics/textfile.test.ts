import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAgentError } from '../../../src/errors.js';
import { writeMetricsFile } from '../../../src/metrics/textfile.js';

let root: string;
/** A fresh empty folder per test, so "nothing else is left" can be checked exactly. */
const freshFolder = (): Promise<string> => mkdtemp(path.join(root, 'textfile-'));
const refusedAsMetricsFailure = (error: unknown): boolean => {
  assert.ok(isAgentError(error, 'METRICS_NOT_WRITTEN'), String(error));
  assert.equal(error.step, 'metrics');
  return true;
};

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'metrics-textfile-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the metrics file', () => {
  test('is written whole with mode 0644 whatever the umask, and nothing else is left in its folder', async () => {
    const folder = await freshFolder();
    const target = path.join(folder, 'immich_backup.prom');
    const umask = process.umask(0o077);
    try {
      await writeMetricsFile(target, 'a_metric 1\n');
    } finally {
      process.umask(umask);
    }
    assert.equal(await readFile(target, 'utf8'), 'a_metric 1\n');
    assert.equal((await stat(target)).mode & 0o777, 0o644, 'node_exporter’s user can read it');
    assert.deepEqual(await readdir(folder), ['immich_backup.prom']);
  });

  test('replaces the file by a rename (a new file), never by rewriting the one a scrape may be reading', async () => {
    const folder = await freshFolder();
    const target = path.join(folder, 'immich_backup.prom');
    await writeFile(target, 'old 1\n', { mode: 0o600 });
    const before = await stat(target);
    await writeMetricsFile(target, 'new 2\n');
    const after = await stat(target);
    assert.notEqual(
      after.ino,
      before.ino,
      'another inode: the old file was never opened for writing',
    );
    assert.equal(await readFile(target, 'utf8'), 'new 2\n');
    assert.equal(after.mode & 0o777, 0o644);
  });

  test('a reader never sees a partial file, and no other *.prom ever appears in the folder', async () => {
    const folder = await freshFolder();
    const target = path.join(folder, 'immich_backup.prom');
    // Big enough that a write takes many system calls: a reader would catch one half-done.
    const contents = ['a', 'b'].map((letter) => `${letter.repeat(4 * 1024 * 1024 - 1)}\n`);
    await writeMetricsFile(target, contents[0] as string);
    let writing = true;
    const seen = { reads: 0 };
    const reader = (async () => {
      while (writing) {
        const [text, names] = await Promise.all([readFile(target, 'utf8'), readdir(folder)]);
        assert.ok(contents.includes(text), `a whole file (read ${text.length} bytes)`);
        assert.deepEqual(
          names.filter((name) => name.endsWith('.prom')),
          ['immich_backup.prom'],
          'the collector sees only the file itself',
        );
        seen.reads += 1;
      }
    })();
    try {
      for (let round = 1; round <= 30; round += 1)
        await writeMetricsFile(target, contents[round % 2] as string);
    } finally {
      writing = false;
      await reader;
    }
    assert.ok(seen.reads > 5, `the reader read while the writes went on (${seen.reads} reads)`);
    assert.deepEqual((await readdir(folder)).sort(), ['immich_backup.prom']);
  });

  test('a symbolic link at the target is refused: neither it nor where it points is touched', async () => {
    const folder = await freshFolder();
    const precious = path.join(folder, 'shadow');
    await writeFile(precious, 'root:precious\n', { mode: 0o600 });
    const target = path.join(folder, 'immich_backup.prom');
    await symlink(precious, target);
    await assert.rejects(writeMetricsFile(target, 'evil 1\n'), (error: unknown) => {
      refusedAsMetricsFailure(error);
      assert.match((error as Error).message, /symbolic link/);
      return true;
    });
    assert.equal(await readlink(target), precious, 'the link is still there');
    assert.equal(
      await readFile(precious, 'utf8'),
      'root:precious\n',
      'where it points is untouched',
    );
    assert.equal((await stat(precious)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(folder)).sort(), ['immich_backup.prom', 'shadow']);
  });

  test('a dangling symbolic link is refused too: nothing is created where it points', async () => {
    const folder = await freshFolder();
    const elsewhere = path.join(folder, 'elsewhere.conf');
    const target = path.join(folder, 'immich_backup.prom');
    await symlink(elsewhere, target);
    await assert.rejects(writeMetricsFile(target, 'evil 1\n'), refusedAsMetricsFailure);
    assert.equal(existsSync(elsewhere), false);
  });

  test('a folder at the target is refused', async () => {
    const folder = await freshFolder();
    const target = path.join(folder, 'immich_backup.prom');
    await mkdir(target);
    await assert.rejects(writeMetricsFile(target, 'a 1\n'), (error: unknown) => {
      refusedAsMetricsFailure(error);
      assert.match((error as Error).message, /not a regular file/);
      return true;
    });
    assert.deepEqual(await readdir(folder), ['immich_backup.prom']);
  });

  test('a missing folder is named in the failure and not created', async () => {
    const folder = path.join(await freshFolder(), 'node-exporter');
    const target = path.join(folder, 'immich_backup.prom');
    await assert.rejects(writeMetricsFile(target, 'a 1\n'), (error: unknown) => {
      refusedAsMetricsFailure(error);
      assert.match((error as Error).message, /node-exporter does not exist/);
      return true;
    });
    assert.equal(existsSync(folder), false);
  });
});
