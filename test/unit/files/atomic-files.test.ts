import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { temporaryNameFor, writeFileAtomic } from '../../../src/files/atomic-files.js';

let root: string;

/** A fresh empty folder per test, so "nothing else is left" can be checked exactly. */
const freshFolder = (): Promise<string> => mkdtemp(path.join(root, 'case-'));

const hasStrace = spawnSync('strace', ['-V']).status === 0;

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'atomic-files-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('temporaryNameFor', () => {
  test('the temporary name is hidden, in the same folder, and marked as partial', () => {
    assert.equal(
      temporaryNameFor('/mnt/backup/runs/record.json', 'abcd'),
      '/mnt/backup/runs/.record.json.partial-abcd',
    );
  });

  test('two temporary names for the same file differ', () => {
    assert.notEqual(temporaryNameFor('/x/file'), temporaryNameFor('/x/file'));
  });
});

describe('writeFileAtomic', () => {
  const modes = [0o600, 0o644, 0o640, 0o755];
  for (const mode of modes) {
    test(`a file written with mode ${mode.toString(8)} has exactly that mode, whatever the umask`, async () => {
      const folder = await freshFolder();
      const file = path.join(folder, 'record.json');
      const previous = process.umask(0o077);
      try {
        await writeFileAtomic(file, '{"ok":true}\n', mode);
      } finally {
        process.umask(previous);
      }
      assert.equal(await modeOf(file), mode);
      assert.equal(await readFile(file, 'utf8'), '{"ok":true}\n');
      assert.deepEqual(await readdir(folder), ['record.json']);
    });
  }

  test('without a mode the file is 0644', async () => {
    const folder = await freshFolder();
    const file = path.join(folder, 'plain');
    await writeFileAtomic(file, 'text');
    assert.equal(await modeOf(file), 0o644);
  });

  test('binary content is written byte for byte', async () => {
    const folder = await freshFolder();
    const file = path.join(folder, 'data.bin');
    const data = Buffer.from([0, 1, 2, 253, 254, 255]);
    await writeFileAtomic(file, data);
    assert.deepEqual(await readFile(file), data);
  });

  test('an existing file is replaced whole and takes the new mode', async () => {
    const folder = await freshFolder();
    const file = path.join(folder, 'config.yml');
    await writeFile(file, 'old content that is longer than the new one\n', { mode: 0o666 });
    await chmod(file, 0o666);
    await writeFileAtomic(file, 'new\n', 0o600);
    assert.equal(await readFile(file, 'utf8'), 'new\n');
    assert.equal(await modeOf(file), 0o600);
    assert.deepEqual(await readdir(folder), ['config.yml']);
  });

  test('a write into a folder that does not exist fails and leaves nothing behind', async () => {
    const folder = await freshFolder();
    await assert.rejects(
      writeFileAtomic(path.join(folder, 'missing', 'file'), 'x'),
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    assert.deepEqual(await readdir(folder), []);
  });

  test('a write over a folder fails and leaves no partial file', async () => {
    const folder = await freshFolder();
    await mkdir(path.join(folder, 'is-a-folder'));
    await assert.rejects(writeFileAtomic(path.join(folder, 'is-a-folder'), 'x'));
    assert.deepEqual(await readdir(folder), ['is-a-folder']);
  });
});

describe('writeFileAtomic with a mode: a copy of a file (compose file, .env)', () => {
  test('the copy has the content of the source and exactly the mode asked for', async () => {
    const folder = await freshFolder();
    const source = path.join(folder, 'source.env');
    await writeFile(source, 'DB_PASSWORD=s3cret\n');
    await chmod(source, 0o644);
    const copy = path.join(folder, 'copy.env');
    await writeFileAtomic(copy, await readFile(source), 0o600);
    assert.equal(await readFile(copy, 'utf8'), 'DB_PASSWORD=s3cret\n');
    assert.equal(await modeOf(copy), 0o600);
    assert.equal(await modeOf(source), 0o644, 'the source is left as it was');
    assert.deepEqual((await readdir(folder)).sort(), ['copy.env', 'source.env']);
  });

  test('a copy may be more permissive than its source when asked', async () => {
    const folder = await freshFolder();
    const source = path.join(folder, 'compose.yml');
    await writeFile(source, 'services: {}\n', { mode: 0o600 });
    const copy = path.join(folder, 'compose-copy.yml');
    await writeFileAtomic(copy, await readFile(source), 0o644);
    assert.equal(await modeOf(copy), 0o644);
  });

  test('an existing copy is replaced', async () => {
    const folder = await freshFolder();
    const source = path.join(folder, 'source');
    const copy = path.join(folder, 'copy');
    await writeFile(source, 'new');
    await writeFile(copy, 'old and longer');
    await writeFileAtomic(copy, await readFile(source), 0o600);
    assert.equal(await readFile(copy, 'utf8'), 'new');
  });

  test(
    'while a secret is being copied its temporary file is never more readable than the mode asked for',
    {
      skip: !hasStrace && 'strace is not installed',
    },
    async () => {
      const folder = await freshFolder();
      const source = path.join(folder, 'source.env');
      await writeFile(source, 'DB_PASSWORD=s3cret\n');
      await chmod(source, 0o644);
      const copy = path.join(folder, 'copy.env');
      // The copy happens in a thread within microseconds, too fast to look at from here, so
      // strace records every permission change with the path of the file it was made on.
      const moduleUrl = new URL('../../../src/files/atomic-files.js', import.meta.url).href;
      const script = `import { readFile } from 'node:fs/promises';
        import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
        await writeFileAtomic(${JSON.stringify(copy)}, await readFile(${JSON.stringify(source)}), 0o600);`;
      const traced = spawnSync(
        'strace',
        [
          '-f',
          '-y',
          '-qq',
          '-e',
          'trace=fchmod,fchmodat,chmod',
          '--',
          process.execPath,
          '--input-type=module',
        ],
        { input: script, encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(traced.status, 0, traced.stderr);
      assert.equal(await readFile(copy, 'utf8'), 'DB_PASSWORD=s3cret\n');
      const modesSet = traced.stderr
        .split('\n')
        .filter((line) => line.includes('.partial-'))
        .map((line) => /, (0[0-7]+)\) = 0/.exec(line)?.[1])
        .map((mode) =>
          mode === undefined ? 'unreadable' : (Number.parseInt(mode, 8) & 0o777).toString(8),
        );
      assert.ok(modesSet.length > 0, 'strace saw the permission changes');
      assert.deepEqual(
        [...new Set(modesSet)],
        ['600'],
        'the temporary file was never given another mode',
      );
    },
  );
});
