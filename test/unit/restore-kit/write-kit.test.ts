import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBundle } from '../../../src/restore-kit/bundle-source.js';
import {
  removeKitFiles,
  sweepPartials,
  writeKitFiles,
  type KitFile,
} from '../../../src/restore-kit/write-kit.js';

let root: string;
const freshFolder = (): Promise<string> => mkdtemp(path.join(root, 'case-'));

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'write-kit-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const kit = (guide = '# Restoring\n'): KitFile[] => [
  { name: 'immich-backup-agent.mjs', content: Buffer.alloc(3 * 1024 * 1024, 7), mode: 0o755 },
  { name: 'RESTORE.md', content: Buffer.from(guide), mode: 0o644 },
  { name: 'restore-kit.json', content: Buffer.from('{"kitVersion":1}\n'), mode: 0o644 },
];

describe('writing the restore kit', () => {
  test('the first write writes every file; a second with nothing changed writes nothing', async () => {
    const folder = await freshFolder();
    const first = await writeKitFiles(folder, kit());
    assert.deepEqual(first.written, ['immich-backup-agent.mjs', 'RESTORE.md', 'restore-kit.json']);
    assert.equal(first.bytesWritten, 3 * 1024 * 1024 + 12 + 17);
    const before = await stat(path.join(folder, 'immich-backup-agent.mjs'));
    const second = await writeKitFiles(folder, kit());
    assert.deepEqual(second, { written: [], bytesWritten: 0 });
    // Not even rewritten with the same bytes: the same inode, no leftovers.
    assert.equal((await stat(path.join(folder, 'immich-backup-agent.mjs'))).ino, before.ino);
    assert.deepEqual((await readdir(folder)).sort(), [
      'RESTORE.md',
      'immich-backup-agent.mjs',
      'restore-kit.json',
    ]);
    assert.equal((await stat(path.join(folder, 'immich-backup-agent.mjs'))).mode & 0o777, 0o755);
  });

  test('only the file whose content changed is rewritten', async () => {
    const folder = await freshFolder();
    await writeKitFiles(folder, kit());
    const again = await writeKitFiles(folder, kit('# Restoring, v2.7.6\n'));
    assert.deepEqual(again.written, ['RESTORE.md']);
    assert.equal(await readFile(path.join(folder, 'RESTORE.md'), 'utf8'), '# Restoring, v2.7.6\n');
  });

  test('a kit file with the right content and the wrong mode gets its mode back, unwritten', async () => {
    const folder = await freshFolder();
    await writeKitFiles(folder, kit());
    const agent = path.join(folder, 'immich-backup-agent.mjs');
    const before = await stat(agent);
    await chmod(agent, 0o644);
    assert.deepEqual(await writeKitFiles(folder, kit()), { written: [], bytesWritten: 0 });
    const after = await stat(agent);
    assert.deepEqual([after.ino, after.mode & 0o777], [before.ino, 0o755]);
  });

  test('leftover partial files are swept and kit files removed, links unlinked not followed', async () => {
    const folder = await freshFolder();
    const outside = path.join(await freshFolder(), 'precious.txt');
    await writeFile(outside, 'do not touch\n');
    await writeFile(path.join(folder, '.RESTORE.md.partial-0a1b2c3d'), 'half');
    await symlink(outside, path.join(folder, `.${'a'.repeat(64)}.tar.gz.partial`));
    await symlink(outside, path.join(folder, 'restore-kit.json'));
    await writeFile(path.join(folder, 'RESTORE.md'), 'kept');
    assert.equal((await sweepPartials(folder)).length, 2);
    const removed = await removeKitFiles(folder, ['restore-kit.json', 'immich-backup-agent.mjs']);
    assert.deepEqual(removed, ['restore-kit.json']);
    assert.deepEqual(await readdir(folder), ['RESTORE.md']);
    assert.equal(await readFile(outside, 'utf8'), 'do not touch\n');
  });

  test('a symlink in place of RESTORE.md pointing outside is replaced, its target untouched', async () => {
    const folder = await freshFolder();
    const outside = path.join(await freshFolder(), 'precious.txt');
    await writeFile(outside, 'do not touch\n');
    const guide = path.join(folder, 'RESTORE.md');
    await symlink(outside, guide);
    // The same content as the kit's: a link is never taken for the file, even then.
    const result = await writeKitFiles(folder, kit('do not touch\n'));
    assert.ok(result.written.includes('RESTORE.md'));
    assert.equal(await readFile(outside, 'utf8'), 'do not touch\n');
    assert.ok((await lstat(guide)).isFile(), 'a regular file now, not a link');
    assert.equal(await readFile(guide, 'utf8'), 'do not touch\n');
  });

  test('a FIFO in place of a kit file is replaced without being opened for a read that waits', async () => {
    const folder = await freshFolder();
    const fifo = path.join(folder, 'restore-kit.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const result = await writeKitFiles(folder, kit());
    assert.ok(result.written.includes('restore-kit.json'));
    assert.ok((await lstat(fifo)).isFile());
  });
});

describe('finding the bundled agent', () => {
  test('the bundle is read whole; a folder in its place is reported missing', async () => {
    const folder = await freshFolder();
    const file = path.join(folder, 'immich-backup-agent.mjs');
    await writeFile(file, 'console.log(1)\n');
    const found = await findBundle({ file });
    assert.ok('content' in found);
    assert.equal(found.content.toString(), 'console.log(1)\n');
    const inPlace = path.join(folder, 'a-folder.mjs');
    await mkdir(inPlace);
    const notFile = await findBundle({ file: inPlace });
    assert.ok('missing' in notFile && /not a regular file/.test(notFile.missing));
  });

  test('a missing bundle, or a symlink in its place, is reported missing', async () => {
    const folder = await freshFolder();
    const file = path.join(folder, 'immich-backup-agent.mjs');
    const absent = await findBundle({ file });
    assert.ok('missing' in absent && /is not there/.test(absent.missing));
    await writeFile(path.join(folder, 'real.mjs'), 'x');
    await symlink(path.join(folder, 'real.mjs'), file);
    const linked = await findBundle({ file });
    assert.ok('missing' in linked && /ELOOP/.test(linked.missing), JSON.stringify(linked));
  });
});
