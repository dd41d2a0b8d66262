import assert from 'node:assert/strict';
import { chown } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfigFile, loadConfig, resolveConfigFile } from '../../../src/config/load.js';
import { loadFails, uuid, writeConfig } from './config-fixtures.js';

describe('loadConfig refuses a config file others could change', () => {
  const valid = { drive: { uuid }, immich: { libraryDir: '/srv/photos' } };
  const refused: { mode: number; writers: string }[] = [
    { mode: 0o664, writers: 'its group' },
    { mode: 0o606, writers: 'others' },
    { mode: 0o666, writers: 'its group and others' },
    { mode: 0o620, writers: 'its group' },
  ];
  for (const { mode, writers } of refused) {
    test(`mode ${mode.toString(8)} is refused as CONFIG_INSECURE: writable by ${writers}`, async () => {
      const file = await writeConfig(valid, mode);
      const error = await loadFails(file, 'CONFIG_INSECURE');
      assert.ok(
        error.message.includes(`writable by ${writers} (mode ${mode.toString(8)})`),
        error.message,
      );
      assert.equal(
        error.hint,
        `Fix it with: sudo chown root:root '${file}' && sudo chmod 600 '${file}'`,
      );
    });
  }

  const accepted = [0o600, 0o400, 0o640, 0o644];
  for (const mode of accepted) {
    test(`mode ${mode.toString(8)} owned by root is accepted`, async () => {
      const config = await loadConfig(await writeConfig(valid, mode));
      assert.equal(config.drive.uuid, uuid);
    });
  }

  test('a file not owned by root is refused as CONFIG_INSECURE', async (context) => {
    if (process.getuid?.() !== 0) {
      context.skip('only root can give a file away');
      return;
    }
    const file = await writeConfig(valid);
    await chown(file, 1000, 1000);
    const error = await loadFails(file, 'CONFIG_INSECURE');
    assert.match(error.message, /it is owned by uid 1000, not root/);
  });

  test('a file not owned by root and writable by others names both problems', async (context) => {
    if (process.getuid?.() !== 0) {
      context.skip('only root can give a file away');
      return;
    }
    const file = await writeConfig(valid, 0o606);
    await chown(file, 1000, 0);
    const error = await loadFails(file, 'CONFIG_INSECURE');
    assert.match(error.message, /owned by uid 1000, not root and it is writable by others/);
  });

  test('an insecure file is refused before it is parsed', async () => {
    const error = await loadFails(
      await writeConfig('{ this is : not [ yaml', 0o666),
      'CONFIG_INSECURE',
    );
    assert.equal(error.details.issues, undefined);
  });
});

describe('resolveConfigFile', () => {
  const cases: {
    name: string;
    flag: string | undefined;
    env: string | undefined;
    expected: string;
  }[] = [
    {
      name: 'the --config flag wins',
      flag: '/etc/a.yml',
      env: '/etc/b.yml',
      expected: '/etc/a.yml',
    },
    {
      name: 'without a flag, IMMICH_BACKUP_AGENT_CONFIG is used',
      flag: undefined,
      env: '/etc/b.yml',
      expected: '/etc/b.yml',
    },
    {
      name: 'without either, the default path is used',
      flag: undefined,
      env: undefined,
      expected: defaultConfigFile,
    },
    {
      name: 'a relative path is made absolute',
      flag: 'config.yml',
      env: undefined,
      expected: path.resolve('config.yml'),
    },
  ];
  for (const { name, flag, env, expected } of cases) {
    test(name, () => {
      const environment: NodeJS.ProcessEnv =
        env === undefined ? {} : { IMMICH_BACKUP_AGENT_CONFIG: env };
      assert.equal(resolveConfigFile(flag, environment), expected);
    });
  }
});
