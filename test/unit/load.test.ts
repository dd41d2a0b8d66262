import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import {
  defaultConfigFile,
  loadConfig,
  resolveConfigFile,
  type ConfigIssue,
} from '../../src/config/load.js';
import { AgentError, type ErrorCode } from '../../src/errors.js';
import { printableConfig } from '../../src/cli/config-command.js';
import { configSchema } from '../../src/config/schema.js';
import { repoRoot } from '../env/cli.js';

const fixtures = path.join(repoRoot, 'test/fixtures/immich');
const uuid = '3f1c9a2e-8d4b-4f5a-9c1e-2b7d6e8f0a1b';

let root: string;

/** Writes a config file the way the agent expects it: root-owned, mode 0600. */
async function writeConfig(content: unknown, mode = 0o600): Promise<string> {
  const folder = await mkdtemp(path.join(root, 'config-'));
  const file = path.join(folder, 'config.yml');
  await writeFile(file, typeof content === 'string' ? content : stringify(content), {
    mode: 0o600,
  });
  await chmod(file, mode);
  return file;
}

/** An Immich app folder holding the real compose file and the given .env text (or the real one). */
async function immichApp(envText?: string): Promise<string> {
  const folder = await mkdtemp(path.join(root, 'immich-app-'));
  await copyFile(
    path.join(fixtures, 'immich-docker-compose.yml'),
    path.join(folder, 'docker-compose.yml'),
  );
  if (envText === undefined) {
    await copyFile(path.join(fixtures, 'immich-example.env'), path.join(folder, '.env'));
  } else {
    await writeFile(path.join(folder, '.env'), envText, { mode: 0o600 });
  }
  return folder;
}

/** Loads and expects an AgentError with this code; returns it for more checks. */
async function loadFails(file: string, code: ErrorCode): Promise<AgentError> {
  try {
    await loadConfig(file);
  } catch (error) {
    assert.ok(error instanceof AgentError, `an AgentError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.step, 'config');
    return error;
  }
  assert.fail(`${file} was accepted`);
}

const issuesOf = (error: AgentError): ConfigIssue[] => error.details.issues as ConfigIssue[];
const issuePaths = (error: AgentError): string[] => issuesOf(error).map((issue) => issue.path);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'load-config-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadConfig fills in defaults', () => {
  test('every key but drive.uuid has a default', async () => {
    // libraryDir is given so the default appDir need not exist on this machine.
    const file = await writeConfig({ drive: { uuid }, immich: { libraryDir: '/srv/photos' } });
    const config = await loadConfig(file);
    assert.equal(config.configFile, file);
    assert.equal(config.immich.appDir, '/opt/immich-app');
    assert.equal(config.immich.libraryDir, '/srv/photos');
    assert.equal(config.immich.stopTimeoutSeconds, 30);
    assert.equal(config.drive.uuid, uuid);
    assert.equal(config.drive.mountPoint, '/mnt/immich-backup');
    assert.equal(config.drive.backupDir, 'immich-backup');
    assert.equal(config.schedule.cron, '5 2 * * 0');
    assert.equal(config.schedule.maxAgeDays, 7);
    assert.equal(config.schedule.syncWindowSeconds, 1200);
    assert.equal(config.power.idleShutdown, true);
    assert.deepEqual(config.power.users, []);
    assert.equal(config.power.delaySeconds, 60);
    assert.equal(config.log.file, '/var/log/immich-backup-agent/immich_backup.log');
    assert.equal(config.log.level, 'info');
    assert.equal(config.stateDir, '/var/lib/immich-backup-agent');
    // Keys added to the schema later must have a default too.
    const sections = {
      drive: config.drive,
      schedule: config.schedule,
      power: config.power,
      log: config.log,
    };
    for (const [section, values] of Object.entries(sections)) {
      for (const [key, value] of Object.entries(values)) {
        assert.notEqual(value, undefined, `${section}.${key} has a default`);
      }
    }
  });

  test('with only drive.uuid and appDir, everything about Immich is discovered from its files', async () => {
    const appDir = await immichApp();
    const config = await loadConfig(await writeConfig({ drive: { uuid }, immich: { appDir } }));
    assert.deepEqual(config.immich, {
      appDir,
      libraryDir: path.join(appDir, 'library'),
      serverContainer: 'immich_server',
      databaseContainer: 'immich_postgres',
      databaseUser: 'postgres',
      databaseName: 'immich',
      stopTimeoutSeconds: 30,
      stopServer: 'during-backup',
      composeFile: path.join(appDir, 'docker-compose.yml'),
      envFile: path.join(appDir, '.env'),
      immichVersion: 'release',
    });
    assert.deepEqual(config.secrets, { databasePassword: 'postgres', all: ['postgres'] });
  });

  test('without a compose file Immich’s own container names are used', async () => {
    const appDir = await mkdtemp(path.join(root, 'bare-app-'));
    await writeFile(path.join(appDir, '.env'), 'UPLOAD_LOCATION=/srv/photos\n');
    const config = await loadConfig(await writeConfig({ drive: { uuid }, immich: { appDir } }));
    assert.equal(config.immich.serverContainer, 'immich_server');
    assert.equal(config.immich.databaseContainer, 'immich_postgres');
    assert.equal(config.immich.composeFile, null);
  });

  const uploadLocations: { upload: string; expected: (appDir: string) => string }[] = [
    { upload: './library', expected: (appDir) => path.join(appDir, 'library') },
    { upload: 'library', expected: (appDir) => path.join(appDir, 'library') },
    { upload: '../photos', expected: (appDir) => path.join(path.dirname(appDir), 'photos') },
    { upload: '/mnt/photos/upload', expected: () => '/mnt/photos/upload' },
    { upload: '"./quoted library"', expected: (appDir) => path.join(appDir, 'quoted library') },
  ];
  for (const { upload, expected } of uploadLocations) {
    test(`UPLOAD_LOCATION=${upload} resolves against appDir`, async () => {
      const appDir = await immichApp(`UPLOAD_LOCATION=${upload}\nDB_PASSWORD=secret\n`);
      const config = await loadConfig(await writeConfig({ drive: { uuid }, immich: { appDir } }));
      assert.equal(config.immich.libraryDir, expected(appDir));
    });
  }

  const databaseEnv: { name: string; env: string; user: string; database: string }[] = [
    {
      name: 'without DB_USERNAME and DB_DATABASE_NAME the user is postgres and the database immich',
      env: 'UPLOAD_LOCATION=./library\n',
      user: 'postgres',
      database: 'immich',
    },
    {
      name: 'with empty DB_USERNAME and DB_DATABASE_NAME the defaults are used too',
      env: 'UPLOAD_LOCATION=./library\nDB_USERNAME=\nDB_DATABASE_NAME=\n',
      user: 'postgres',
      database: 'immich',
    },
    {
      name: 'DB_USERNAME and DB_DATABASE_NAME from .env are used when set',
      env: 'UPLOAD_LOCATION=./library\nDB_USERNAME=photos_user\nDB_DATABASE_NAME=photos_db\n',
      user: 'photos_user',
      database: 'photos_db',
    },
  ];
  for (const { name, env, user, database } of databaseEnv) {
    test(name, async () => {
      const appDir = await immichApp(env);
      const config = await loadConfig(await writeConfig({ drive: { uuid }, immich: { appDir } }));
      assert.equal(config.immich.databaseUser, user);
      assert.equal(config.immich.databaseName, database);
    });
  }

  test('keys given in the config win over what is discovered', async () => {
    const appDir = await immichApp(
      'UPLOAD_LOCATION=./library\nDB_USERNAME=from_env\nDB_DATABASE_NAME=from_env\n',
    );
    const config = await loadConfig(
      await writeConfig({
        drive: { uuid },
        immich: {
          appDir,
          libraryDir: '/data/photos',
          serverContainer: 'my_server',
          databaseContainer: '/my_database',
          databaseUser: 'admin',
          databaseName: 'gallery',
        },
      }),
    );
    assert.equal(config.immich.libraryDir, '/data/photos');
    assert.equal(config.immich.serverContainer, 'my_server');
    assert.equal(config.immich.databaseContainer, 'my_database', 'a leading slash is dropped');
    assert.equal(config.immich.databaseUser, 'admin');
    assert.equal(config.immich.databaseName, 'gallery');
  });

  test('paths are normalized and lose their trailing slash', async () => {
    const config = await loadConfig(
      await writeConfig({
        drive: { uuid, mountPoint: '/mnt//usb/', backupDir: 'backups/./immich/' },
        immich: { libraryDir: '/srv/photos/' },
        stateDir: '/var/lib/agent/',
      }),
    );
    assert.equal(config.drive.mountPoint, '/mnt/usb');
    assert.equal(config.drive.backupDir, 'backups/immich');
    assert.equal(config.immich.libraryDir, '/srv/photos');
    assert.equal(config.stateDir, '/var/lib/agent');
  });

  test('an all-digit NTFS serial written unquoted is read as written, leading zero and all', async () => {
    const library = ['immich:', '  libraryDir: /srv/photos', ''];
    const one = await loadConfig(
      await writeConfig(['drive:', '  uuid: 0123456789012345', ...library].join('\n')),
    );
    assert.equal(one.drive.uuid, '0123456789012345');
    const several = await loadConfig(
      await writeConfig(
        ['drives:', '  - uuid: 9876543210987654', '  - uuid: 4E2A9B1C7D3F5A60', ...library].join(
          '\n',
        ),
      ),
    );
    assert.deepEqual(
      several.drives.map((drive) => drive.uuid),
      ['9876543210987654', '4E2A9B1C7D3F5A60'],
    );
  });

  test('secrets.all holds DB_PASSWORD, and is empty without one', async () => {
    const withPassword = await immichApp('UPLOAD_LOCATION=./library\nDB_PASSWORD="s3cret pw"\n');
    const withoutPassword = await immichApp('UPLOAD_LOCATION=./library\n');
    const first = await loadConfig(
      await writeConfig({ drive: { uuid }, immich: { appDir: withPassword } }),
    );
    assert.deepEqual(first.secrets, { databasePassword: 's3cret pw', all: ['s3cret pw'] });
    const second = await loadConfig(
      await writeConfig({ drive: { uuid }, immich: { appDir: withoutPassword } }),
    );
    assert.deepEqual(second.secrets, { databasePassword: undefined, all: [] });
  });
});

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
    const emptyAppDir = await mkdtemp(path.join(root, 'no-immich-'));
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
    const appDir = await mkdtemp(path.join(root, 'empty-app-'));
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
    const error = await loadFails(path.join(root, 'nowhere', 'config.yml'), 'CONFIG_INVALID');
    assert.match(error.message, /^No configuration file at /);
    assert.match(error.hint ?? '', /--config or IMMICH_BACKUP_AGENT_CONFIG/);
  });

  test('a folder in place of the config file is CONFIG_INVALID', async () => {
    const folder = await mkdtemp(path.join(root, 'folder-'));
    const error = await loadFails(folder, 'CONFIG_INVALID');
    assert.match(error.message, /is not a file/);
  });
});

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

describe('config print', () => {
  test('shows every section of the configuration (drive as the resolved drives)', async () => {
    const file = await writeConfig({ drive: { uuid }, immich: { libraryDir: '/srv/photos' } });
    const printed = printableConfig(await loadConfig(file));
    const sections = Object.keys(configSchema.shape).map((key) =>
      key === 'drive' ? 'drives' : key,
    );
    for (const section of new Set(sections)) {
      assert.ok(section in printed, `config print leaves out ${section}`);
    }
  });
});
