import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  immichApp,
  issuePaths,
  issuesOf,
  loadFails,
  uuid,
  writeConfig,
  testRoot,
} from './config-fixtures.js';

describe('loadConfig reports every problem at once, with its key path', () => {
  test('a config without a drive section names drive.uuid', async () => {
    const error = await loadFails(
      await writeConfig({ immich: { libraryDir: '/srv/photos' } }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error), ['drive.uuid']);
    assert.match(issuesOf(error)[0]?.message ?? '', /^is required/);
  });

  test('an empty file names drive.uuid', async () => {
    const error = await loadFails(await writeConfig(''), 'CONFIG_INVALID');
    assert.ok(issuePaths(error).includes('drive.uuid'), issuePaths(error).join(', '));
  });

  test('a schema problem and what discovery cannot find are reported in the same round', async () => {
    const emptyAppDir = await mkdtemp(path.join(testRoot(), 'no-immich-'));
    const error = await loadFails(
      await writeConfig({ immich: { appDir: emptyAppDir }, log: { level: 'verbose' } }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error).sort(), ['drive.uuid', 'immich.libraryDir', 'log.level']);
    assert.match(
      issuesOf(error).find((issue) => issue.path === 'immich.libraryDir')?.message ?? '',
      /UPLOAD_LOCATION could not be read/,
    );
  });

  test('several wrong values and unknown keys are all reported together', async () => {
    const error = await loadFails(
      await writeConfig({
        drive: { uuid: 'not-a-uuid', mountPoint: 'relative/path', colour: 'blue' },
        immich: { libraryDir: '/srv/photos', stopTimeoutSeconds: 0 },
        schedule: { cron: 'every sunday', maxAgeDays: -1 },
        log: { level: 'verbose' },
        stateDir: 'state',
        extra: true,
      }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(
      issuePaths(error).sort(),
      [
        'drive.colour',
        'drive.mountPoint',
        'drive.uuid',
        'extra',
        'immich.stopTimeoutSeconds',
        'log.level',
        'schedule.cron',
        'schedule.maxAgeDays',
        'stateDir',
      ].sort(),
    );
    assert.match(error.message, /has 9 problems:/);
    for (const issue of issuesOf(error)) {
      assert.ok(error.message.includes(`  ${issue.path}: ${issue.message}`), issue.path);
    }
    assert.equal(error.hint, 'Fix the keys named above and run again.');
  });

  // libraryDir given: the default appDir need not exist on this machine.
  const unknownKeys: { name: string; config: Record<string, unknown>; paths: string[] }[] = [
    {
      name: 'a top-level key',
      config: { drive: { uuid }, stateDirectory: '/x' },
      paths: ['stateDirectory'],
    },
    {
      name: 'a key inside a section',
      config: { drive: { uuid, mountpoint: '/mnt/x' } },
      paths: ['drive.mountpoint'],
    },
    {
      name: 'two keys inside one section',
      config: { drive: { uuid }, power: { idle: true, delay: 5 } },
      paths: ['power.idle, power.delay'],
    },
  ];
  for (const { name, config, paths } of unknownKeys) {
    test(`an unknown key, ${name}, is reported by its path as misspelt`, async () => {
      const error = await loadFails(
        await writeConfig({ immich: { libraryDir: '/srv/photos' }, ...config }),
        'CONFIG_INVALID',
      );
      assert.deepEqual(issuePaths(error), paths);
      assert.equal(issuesOf(error)[0]?.message, 'is not a known key (misspelt?)');
    });
  }

  const wrongValues: {
    name: string;
    config: Record<string, unknown>;
    path: string;
    message: RegExp;
  }[] = [
    {
      name: 'a UUID that is too short',
      config: { drive: { uuid: 'ab-12' } },
      path: 'drive.uuid',
      message: /too short/,
    },
    {
      name: 'a backup folder outside the drive',
      config: { drive: { uuid, backupDir: '../elsewhere' } },
      path: 'drive.backupDir',
      message: /must not contain "\.\."/,
    },
    {
      name: 'a backup folder that is an absolute path',
      config: { drive: { uuid, backupDir: '/immich' } },
      path: 'drive.backupDir',
      message: /relative to the drive's root/,
    },
    {
      name: 'the drive’s root as the backup folder',
      config: { drive: { uuid, backupDir: './' } },
      path: 'drive.backupDir',
      message: /must name a folder/,
    },
    {
      name: 'a container name with a space',
      config: { drive: { uuid }, immich: { serverContainer: 'immich server' } },
      path: 'immich.serverContainer',
      message: /not a valid Docker container name/,
    },
    {
      name: 'a cron expression with too few fields',
      config: { drive: { uuid }, schedule: { cron: '5 2 *' } },
      path: 'schedule.cron',
      message: /not a valid cron expression/,
    },
    {
      name: 'a fractional delay',
      config: { drive: { uuid }, power: { delaySeconds: 1.5 } },
      path: 'power.delaySeconds',
      message: /.+/,
    },
    {
      name: 'a string where a boolean belongs',
      config: { drive: { uuid }, power: { idleShutdown: 'yes' } },
      path: 'power.idleShutdown',
      message: /boolean/,
    },
  ];
  for (const { name, config, path: keyPath, message } of wrongValues) {
    test(`${name} is reported at ${keyPath}`, async () => {
      const withLibrary = {
        ...config,
        immich: { libraryDir: '/srv/p', ...(config.immich as object) },
      };
      const error = await loadFails(await writeConfig(withLibrary), 'CONFIG_INVALID');
      assert.deepEqual(issuePaths(error), [keyPath]);
      assert.match(issuesOf(error)[0]?.message ?? '', message);
    });
  }

  test('a library that cannot be found is reported at immich.libraryDir with the reason', async () => {
    const appDir = await mkdtemp(path.join(testRoot(), 'empty-app-'));
    const error = await loadFails(
      await writeConfig({ drive: { uuid }, immich: { appDir } }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error), ['immich.libraryDir']);
    assert.match(issuesOf(error)[0]?.message ?? '', /\.env does not exist/);
  });

  test('a .env without UPLOAD_LOCATION is reported at immich.libraryDir as a missing key', async () => {
    const appDir = await immichApp('DB_PASSWORD=secret\n');
    const error = await loadFails(
      await writeConfig({ drive: { uuid }, immich: { appDir } }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error), ['immich.libraryDir']);
    assert.match(issuesOf(error)[0]?.message ?? '', /the key is missing/);
  });

  test('a YAML syntax error is reported as such', async () => {
    const error = await loadFails(
      await writeConfig('drive:\n  uuid: [unclosed\n'),
      'CONFIG_INVALID',
    );
    assert.ok(issuePaths(error).length >= 1);
    assert.ok(issuePaths(error).every((issuePath) => issuePath === '(yaml)'));
  });

  const notMappings = ['- a\n- list\n', 'just a string\n', '42\n'];
  for (const text of notMappings) {
    test(`a document that is not a mapping (${JSON.stringify(text.trim())}) is reported at the root`, async () => {
      const error = await loadFails(await writeConfig(text), 'CONFIG_INVALID');
      assert.deepEqual(issuePaths(error), ['(root)']);
    });
  }

  test('a config file that does not exist is CONFIG_INVALID with a hint', async () => {
    const error = await loadFails(path.join(testRoot(), 'nowhere', 'config.yml'), 'CONFIG_INVALID');
    assert.match(error.message, /^No configuration file at /);
    assert.match(error.hint ?? '', /--config or IMMICH_BACKUP_AGENT_CONFIG/);
  });

  test('a folder in place of the config file is CONFIG_INVALID', async () => {
    const folder = await mkdtemp(path.join(testRoot(), 'folder-'));
    const error = await loadFails(folder, 'CONFIG_INVALID');
    assert.match(error.message, /is not a file/);
  });
});
