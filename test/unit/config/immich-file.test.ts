import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { immichFileMaxBytes, readImmichFile } from '../../../src/config/immich-file.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'immich-file-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** An app folder owned by `owner`, holding .env with `text`. */
async function appDir(owner = 0, text = 'DB_PASSWORD=x\n'): Promise<string> {
  const folder = await mkdtemp(path.join(root, 'app-'));
  await chown(folder, owner, owner);
  await writeFile(path.join(folder, '.env'), text, { mode: 0o600 });
  await chown(path.join(folder, '.env'), owner, owner);
  return folder;
}

async function refusal(folder: string, name = '.env'): Promise<string> {
  const read = await readImmichFile(folder, name);
  assert.ok('refused' in read, `refused, not ${JSON.stringify(Object.keys(read))}`);
  return read.refused;
}

describe('Immich’s .env and compose file are read as input, not as configuration', () => {
  test('a regular file owned by root is read through the checked descriptor', async () => {
    const read = await readImmichFile(await appDir(), '.env');
    assert.ok('content' in read);
    assert.equal(read.content.toString(), 'DB_PASSWORD=x\n');
  });

  test('a file owned by the app folder’s owner, even group-writable in a private group, is read', async () => {
    const folder = await appDir(0);
    // gid 0 is root's own group on this machine: no one else is in it.
    await chmod(path.join(folder, '.env'), 0o664);
    assert.ok('content' in (await readImmichFile(folder, '.env')));
  });

  test('a missing file is missing, not refused', async () => {
    const read = await readImmichFile(await appDir(), 'compose.yaml');
    assert.ok('missing' in read && read.notFound);
  });

  test('a symlink to a root-only file is refused, and the file is not read', async () => {
    const folder = await appDir(4711);
    const secret = path.join(root, 'shadow-like');
    await writeFile(secret, 'root only', { mode: 0o600 });
    await symlink(secret, path.join(folder, 'docker-compose.yml'));
    assert.match(await refusal(folder, 'docker-compose.yml'), /is a symlink$/);
  });

  test('an app folder that is a symlink is refused', async () => {
    const folder = await appDir();
    const linked = path.join(root, `linked-${path.basename(folder)}`);
    await symlink(folder, linked);
    assert.match(await refusal(linked), /the app folder .* is a symlink/);
  });

  test('a hard link to another file is refused', async () => {
    const folder = await appDir(4711);
    const secret = path.join(root, `secret-${path.basename(folder)}`);
    await writeFile(secret, 'root only', { mode: 0o600 });
    await rm(path.join(folder, '.env'));
    await link(secret, path.join(folder, '.env'));
    assert.match(await refusal(folder), /has 2 hard links/);
  });

  test('a file owned by a third user is refused', async () => {
    const folder = await appDir(4711);
    await chown(path.join(folder, '.env'), 4712, 4712);
    assert.match(await refusal(folder), /owned by uid 4712, neither root nor .*uid 4711/);
  });

  test('a file writable by everyone is refused', async () => {
    const folder = await appDir();
    await chmod(path.join(folder, '.env'), 0o646);
    assert.match(await refusal(folder), /writable by everyone \(mode 646\)/);
  });

  test('a file writable by a group with other members (or unknown) is refused', async () => {
    const folder = await appDir();
    await chown(path.join(folder, '.env'), 0, 4713);
    await chmod(path.join(folder, '.env'), 0o660);
    assert.match(await refusal(folder), /writable by group 4713/);
  });

  test('a FIFO is refused without blocking, a file over the size cap is refused', async () => {
    const folder = await appDir();
    execFileSync('mkfifo', [path.join(folder, 'compose.yaml')]);
    assert.match(await refusal(folder, 'compose.yaml'), /is not a regular file/);
    await writeFile(path.join(folder, '.env'), Buffer.alloc(immichFileMaxBytes + 1, 'x'));
    assert.match(await refusal(folder), /is larger than/);
  });

  test('a folder by that name is reported missing, not refused', async () => {
    const folder = await appDir();
    await mkdir(path.join(folder, 'compose.yml'));
    const read = await readImmichFile(folder, 'compose.yml');
    assert.ok('missing' in read && !read.notFound);
  });
});
