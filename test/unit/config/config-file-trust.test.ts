import assert from 'node:assert/strict';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { loadFails, testRoot, uuid, writeConfig } from './config-fixtures.js';

const valid = { drive: { uuid }, immich: { libraryDir: '/srv/photos' } };
const asRoot = { skip: process.getuid?.() !== 0 ? 'only root can give files away' : false };

/** A folder under the fixtures' root with this owner and mode. */
async function folder(name: string, mode: number, owner = 0): Promise<string> {
  const made = path.join(testRoot(), name);
  await mkdir(made, { recursive: true });
  await chown(made, owner, owner);
  await chmod(made, mode);
  return made;
}

describe('loadConfig refuses a config file someone else could have put there', asRoot, () => {
  test('a symlink to a root-owned, mode 600 config is refused (CONFIG_INSECURE): a link can be turned', async () => {
    const real = await writeConfig(valid);
    const link = path.join(testRoot(), 'link-config.yml');
    await symlink(real, link);
    const error = await loadFails(link, 'CONFIG_INSECURE');
    assert.match(error.message, /it is a symlink/);
    assert.match(error.hint ?? '', /not a link/);
  });

  test('a root-owned, mode 600 config in a folder a user owns is refused, naming the folder', async () => {
    const home = await folder('home-gonzalo', 0o755, 1000);
    const file = path.join(home, 'config.yml');
    await writeFile(file, stringify(valid), { mode: 0o600 });
    const error = await loadFails(file, 'CONFIG_INSECURE');
    assert.match(error.message, /home-gonzalo is owned by uid 1000, not root/);
    assert.match(error.hint ?? '', /folder only root can write/);
  });

  test('a config in a root folder under a group-writable folder is refused', async () => {
    const shared = await folder('shared', 0o775);
    const etc = path.join(shared, 'etc');
    await mkdir(etc, { mode: 0o755 });
    const file = path.join(etc, 'config.yml');
    await writeFile(file, stringify(valid), { mode: 0o600 });
    const error = await loadFails(file, 'CONFIG_INSECURE');
    assert.match(error.message, /shared is writable by its group \(mode 775\)/);
  });

  test('a FIFO in place of the config does not hang the agent: it is not a file', async () => {
    const { execa } = await import('execa');
    const fifo = path.join(testRoot(), 'config-fifo.yml');
    await execa('mkfifo', ['-m', '600', fifo]);
    await loadFails(fifo, 'CONFIG_INVALID');
  });
});

describe('loadConfig refuses a state folder someone else could write', asRoot, () => {
  test('a stateDir a user made first is refused (CONFIG_INSECURE): its notes make root act', async () => {
    const state = await folder('forged-state', 0o755, 1000);
    const error = await loadFails(
      await writeConfig({ ...valid, stateDir: state }),
      'CONFIG_INSECURE',
    );
    assert.match(error.message, /forged-state is owned by uid 1000, not root/);
    assert.match(error.hint ?? '', /chown root:root/);
  });

  test('a stateDir of root’s that its group can write is refused', async () => {
    const state = await folder('group-state', 0o770);
    await loadFails(await writeConfig({ ...valid, stateDir: state }), 'CONFIG_INSECURE');
  });

  test('a stateDir under a folder a user owns is refused, also before it exists', async () => {
    const home = await folder('home-state', 0o755, 1000);
    await loadFails(
      await writeConfig({ ...valid, stateDir: path.join(home, 'state') }),
      'CONFIG_INSECURE',
    );
  });

  test('a stateDir of root’s, mode 700 or 755, or not made yet under root’s folders, is accepted', async () => {
    for (const stateDir of [
      await folder('state-700', 0o700),
      await folder('state-755', 0o755),
      path.join(await folder('state-parent', 0o755), 'not-yet'),
    ]) {
      const config = await loadConfig(await writeConfig({ ...valid, stateDir }));
      assert.equal(config.stateDir, stateDir);
    }
  });
});
