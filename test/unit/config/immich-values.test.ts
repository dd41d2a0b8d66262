import assert from 'node:assert/strict';
import { readFile, symlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import {
  fixtures,
  immichApp,
  issuePaths,
  issuesOf,
  loadFails,
  testRoot,
  uuid,
  writeConfig,
} from './config-fixtures.js';

const exampleEnv = await readFile(path.join(fixtures, 'immich-example.env'), 'utf8');
const envWith = (key: string, value: string): string =>
  exampleEnv.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);

const configFor = (appDir: string, immich: Record<string, unknown> = {}): Promise<string> =>
  writeConfig({ immich: { appDir, ...immich }, drive: { uuid } });

describe('what Immich’s files say is checked before it reaches Docker or PostgreSQL', () => {
  test('Immich’s example files resolve to immich, postgres and its container names', async () => {
    const config = await loadConfig(await configFor(await immichApp()));
    assert.equal(config.immich.databaseName, 'immich');
    assert.equal(config.immich.databaseUser, 'postgres');
    assert.equal(config.immich.databaseContainer, 'immich_postgres');
  });

  for (const [key, value] of [
    ['DB_DATABASE_NAME', '--file=/tmp/pwned'],
    ['DB_DATABASE_NAME', '"dbname=postgres host=/tmp"'],
    ['DB_USERNAME', "'postgres --no-password'"],
  ] as const) {
    test(`${key}=${value} is refused with the key that overrides it (CONFIG_INVALID)`, async () => {
      const error = await loadFails(
        await configFor(await immichApp(envWith(key, value))),
        'CONFIG_INVALID',
      );
      const issue = issuesOf(error)[0];
      assert.match(issue?.path ?? '', /^immich\.database(Name|User)$/);
      assert.match(issue?.message ?? '', new RegExp(`as ${key} in .*\\.env says`));
    });
  }

  test('a set immich.databaseName overrides a bad DB_DATABASE_NAME, and is checked itself', async () => {
    const appDir = await immichApp(envWith('DB_DATABASE_NAME', '--file=/tmp/x'));
    const config = await loadConfig(await configFor(appDir, { databaseName: 'immich' }));
    assert.equal(config.immich.databaseName, 'immich');
    const error = await loadFails(
      await configFor(appDir, { databaseName: 'a b' }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error), ['immich.databaseName']);
  });

  test('container names from compose and from the config are checked by Docker’s rule', async () => {
    const appDir = await immichApp();
    const compose = path.join(appDir, 'docker-compose.yml');
    const text = await readFile(compose, 'utf8');
    await writeFile(
      compose,
      text.replace('container_name: immich_postgres', 'container_name: a/../b'),
    );
    const error = await loadFails(await configFor(appDir), 'CONFIG_INVALID');
    assert.deepEqual(issuePaths(error), ['immich.databaseContainer']);
    assert.match(issuesOf(error)[0]?.message ?? '', /container_name in .*docker-compose\.yml/);
    const fromConfig = await loadFails(
      await configFor(appDir, { databaseContainer: 'ok_db', serverContainer: '../x' }),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(fromConfig), ['immich.serverContainer']);
  });

  test('UPLOAD_LOCATION with a control character is refused', async () => {
    const error = await loadFails(
      await configFor(await immichApp(envWith('UPLOAD_LOCATION', '"/srv/lib\\nrary"'))),
      'CONFIG_INVALID',
    );
    assert.deepEqual(issuePaths(error), ['immich.libraryDir']);
  });

  test('a .env that is a symlink is refused before it is read (CONFIG_INSECURE)', async () => {
    const appDir = await immichApp();
    const outside = path.join(testRoot(), 'root-only.env');
    await writeFile(outside, exampleEnv, { mode: 0o600 });
    await rm(path.join(appDir, '.env'));
    await symlink(outside, path.join(appDir, '.env'));
    const error = await loadFails(await configFor(appDir), 'CONFIG_INSECURE');
    assert.match(error.message, /\.env is a symlink/);
    assert.match(error.hint ?? '', /not symlinks/);
  });
});
