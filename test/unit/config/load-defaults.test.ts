import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { immichApp, testRoot, uuid, writeConfig } from './config-fixtures.js';

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
      uploadMounts: ['/data', '/usr/src/app/upload'],
    });
    assert.deepEqual(config.secrets, { databasePassword: 'postgres', all: ['postgres'] });
  });

  test('without a compose file Immich’s own container names are used', async () => {
    const appDir = await mkdtemp(path.join(testRoot(), 'bare-app-'));
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
