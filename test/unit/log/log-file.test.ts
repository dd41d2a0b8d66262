import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  link,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { lastLines } from '../../../src/cli/log-command.js';
import { openLogFile } from '../../../src/log/log-file.js';
import { createLogger } from '../../../src/log/logger.js';

let root: string;
const asRoot = { skip: process.getuid?.() !== 0 ? 'only root can give files away' : false };

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'log-file-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const nowhere = new Writable({ write: (_chunk, _encoding, callback) => callback() });

describe('the log file is opened only where root alone decides', asRoot, () => {
  test('a log.file that is a symlink to a system file: refused, the target untouched', async () => {
    const folder = await mkdtemp(path.join(root, 'link-'));
    const target = path.join(folder, 'passwd');
    await writeFile(target, 'root:x:0:0::/root:/bin/bash\n', { mode: 0o644 });
    const file = path.join(folder, 'agent.log');
    await symlink(target, file);
    const opened = openLogFile(file);
    assert.ok('refused' in opened);
    assert.match(opened.refused, /it is a symlink/);
    assert.equal(await readFile(target, 'utf8'), 'root:x:0:0::/root:/bin/bash\n');
    assert.equal((await stat(target)).mode & 0o777, 0o644, 'not even its mode changed');
  });

  test('a log.file in a folder a user owns: refused before anything is made there', async () => {
    const home = await mkdtemp(path.join(root, 'home-'));
    await chown(home, 1000, 1000);
    const opened = openLogFile(path.join(home, 'logs', 'agent.log'));
    assert.ok('refused' in opened);
    assert.match(opened.refused, /is owned by uid 1000, not root/);
    assert.deepEqual(await readdir(home), [], 'no folder, no file made');
  });

  test('a log.file in a world-writable folder of root’s (sticky or not): refused', async () => {
    for (const mode of [0o777, 0o1777]) {
      const shared = await mkdtemp(path.join(root, 'shared-'));
      await chmod(shared, mode);
      const opened = openLogFile(path.join(shared, 'agent.log'));
      assert.ok('refused' in opened, mode.toString(8));
      assert.match(opened.refused, /writable by its group and others/);
    }
  });

  test('a log.file with a second name (a hard link) is refused', async () => {
    const folder = await mkdtemp(path.join(root, 'hard-'));
    const other = path.join(folder, 'other');
    await writeFile(other, 'kept\n', { mode: 0o600 });
    const file = path.join(folder, 'agent.log');
    await link(other, file);
    const opened = openLogFile(file);
    assert.ok('refused' in opened);
    assert.match(opened.refused, /2 names/);
    assert.equal(await readFile(other, 'utf8'), 'kept\n');
  });

  test('a log.file owned by a user in root’s folder is refused', async () => {
    const folder = await mkdtemp(path.join(root, 'owned-'));
    const file = path.join(folder, 'agent.log');
    await writeFile(file, '');
    await chown(file, 1000, 1000);
    const opened = openLogFile(file);
    assert.ok('refused' in opened);
    assert.match(opened.refused, /owned by uid 1000/);
  });

  test('made 0600 in a 0700 folder whatever the umask; an older 0644 log is narrowed to 0600', async () => {
    const folder = await mkdtemp(path.join(root, 'umask-'));
    const file = path.join(folder, 'logs', 'agent.log');
    const umask = process.umask(0);
    try {
      const { logger, fileError } = createLogger({
        file,
        level: 'info',
        pretty: false,
        secrets: [],
        console: nowhere,
      });
      assert.equal(fileError, null);
      logger.info('First line.');
    } finally {
      process.umask(umask);
    }
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    await chmod(file, 0o644);
    const opened = openLogFile(file);
    assert.ok('fd' in opened);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });
});

describe('the log file keeps every line', () => {
  test('a line logged right before process.exit() is in the file (the file is written synchronously)', async () => {
    const folder = await mkdtemp(path.join(root, 'exit-'));
    const file = path.join(folder, 'agent.log');
    const logger = new URL('../../../src/log/logger.js', import.meta.url).href;
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const { logger } = createLogger({ file: ${JSON.stringify(file)}, level: 'info', pretty: false, secrets: [] });
      for (let index = 0; index < 200; index += 1) logger.info({ index }, 'Line ' + index + '.');
      process.exit(3);
    `;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]).catch(
      (error: { code?: number }) => assert.equal(error.code, 3),
    );
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 200);
    assert.match(lines[199] ?? '', /"msg":"Line 199\."/);
  });

  test('a log file that is a folder is reported, and nothing is made', async () => {
    const folder = await mkdtemp(path.join(root, 'folder-'));
    await mkdir(path.join(folder, 'agent.log'));
    const opened = openLogFile(path.join(folder, 'agent.log'));
    assert.ok('refused' in opened);
  });
});

describe('the log command reads only the agent’s own log', asRoot, () => {
  test('a log.file that is a symlink to a root-only file is not shown', async () => {
    const folder = await mkdtemp(path.join(root, 'read-link-'));
    const secret = path.join(folder, 'shadow');
    await writeFile(secret, 'root:$6$secret-hash:19000::::::\n', { mode: 0o600 });
    const file = path.join(folder, 'agent.log');
    await symlink(secret, file);
    await assert.rejects(lastLines(file, 50), /not reading .*agent\.log: it is a symlink/);
  });

  test('a log.file in a user’s folder is not shown', async () => {
    const home = await mkdtemp(path.join(root, 'read-home-'));
    await chown(home, 1000, 1000);
    const file = path.join(home, 'agent.log');
    await writeFile(file, '{"msg":"x"}\n');
    await assert.rejects(lastLines(file, 50), /owned by uid 1000, not root/);
  });

  test('the agent’s own log is shown', async () => {
    const folder = await mkdtemp(path.join(root, 'read-own-'));
    const file = path.join(folder, 'agent.log');
    await writeFile(file, '{"msg":"one"}\n{"msg":"two"}\n', { mode: 0o600 });
    assert.deepEqual(await lastLines(file, 1), ['{"msg":"two"}']);
  });
});
