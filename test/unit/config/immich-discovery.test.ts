import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDotenv } from '../../../src/config/dotenv.js';
import {
  containerNamesFromCompose,
  readImmichInstall,
} from '../../../src/config/immich-discovery.js';
import { repoRoot } from '../../env/cli.js';

// Immich's own files, unmodified (see test/fixtures/immich/README.md).
const fixtures = path.join(repoRoot, 'test/fixtures/immich');
const fixture = (name: string): string => path.join(fixtures, name);

let root: string;

/** An Immich app folder with the given fixtures copied in as `.env` and compose file. */
async function appDir(
  files: { env?: string; compose?: string; composeName?: string; composeText?: string },
  folderName = 'immich-app',
): Promise<string> {
  const folder = path.join(await mkdtemp(path.join(root, 'case-')), folderName);
  await mkdir(folder);
  if (files.env) await copyFile(fixture(files.env), path.join(folder, '.env'));
  const composeFile = path.join(folder, files.composeName ?? 'docker-compose.yml');
  if (files.compose) await copyFile(fixture(files.compose), composeFile);
  if (files.composeText !== undefined) await writeFile(composeFile, files.composeText);
  return folder;
}

/** The real compose file without any `container_name:` line (and optionally without `name:`). */
async function composeWithoutContainerNames(dropProjectName = false): Promise<string> {
  const text = await readFile(fixture('immich-docker-compose.yml'), 'utf8');
  return text
    .split('\n')
    .filter((line) => !/^\s+container_name:/.test(line))
    .filter((line) => !(dropProjectName && /^name:/.test(line)))
    .join('\n');
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'immich-discovery-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readImmichInstall reads a real Immich install', () => {
  test('the current compose file and example.env give immich_server, immich_postgres and ./library', async () => {
    const folder = await appDir({
      env: 'immich-example.env',
      compose: 'immich-docker-compose.yml',
    });
    const install = await readImmichInstall(folder);
    assert.deepEqual(install.problems, []);
    assert.equal(install.appDir, folder);
    assert.equal(install.composeFile, path.join(folder, 'docker-compose.yml'));
    assert.equal(install.envFile, path.join(folder, '.env'));
    assert.equal(install.serverContainer, 'immich_server');
    assert.equal(install.databaseContainer, 'immich_postgres');
    assert.equal(install.env.get('UPLOAD_LOCATION'), './library');
    assert.equal(install.env.get('DB_DATA_LOCATION'), './postgres');
    assert.equal(install.env.get('DB_USERNAME'), 'postgres');
    assert.equal(install.env.get('DB_DATABASE_NAME'), 'immich');
    assert.equal(install.env.get('DB_PASSWORD'), 'postgres');
    assert.equal(install.env.get('IMMICH_VERSION'), 'release');
    assert.equal(install.env.has('TZ'), false, 'a commented-out key is not read');
  });

  test('the v1 compose file gives the same container names', async () => {
    const folder = await appDir({
      env: 'immich-example.env',
      compose: 'immich-docker-compose-v1.yml',
    });
    const install = await readImmichInstall(folder);
    assert.deepEqual(install.problems, []);
    assert.equal(install.serverContainer, 'immich_server');
    assert.equal(install.databaseContainer, 'immich_postgres');
  });

  const composeNames = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
  for (const composeName of composeNames) {
    test(`a compose file named ${composeName} is found`, async () => {
      const folder = await appDir({
        env: 'immich-example.env',
        compose: 'immich-docker-compose.yml',
        composeName,
      });
      const install = await readImmichInstall(folder);
      assert.equal(install.composeFile, path.join(folder, composeName));
      assert.equal(install.serverContainer, 'immich_server');
    });
  }

  test('compose.yaml is preferred over docker-compose.yml, as docker compose prefers it', async () => {
    const folder = await appDir({
      env: 'immich-example.env',
      compose: 'immich-docker-compose.yml',
      composeName: 'docker-compose.yml',
    });
    await writeFile(
      path.join(folder, 'compose.yaml'),
      'services:\n  immich-server:\n    container_name: preferred_server\n',
    );
    const install = await readImmichInstall(folder);
    assert.equal(install.composeFile, path.join(folder, 'compose.yaml'));
    assert.equal(install.serverContainer, 'preferred_server');
  });

  test('a compose file without container_name gives compose’s own <project>-<service>-1 names', async () => {
    const folder = await appDir({
      env: 'immich-example.env',
      composeText: await composeWithoutContainerNames(),
    });
    const install = await readImmichInstall(folder);
    assert.deepEqual(install.problems, []);
    assert.equal(install.serverContainer, 'immich-immich-server-1');
    assert.equal(install.databaseContainer, 'immich-database-1');
  });

  test('without container_name and without a project name the folder name is the project, normalized as compose does', async () => {
    const folder = await appDir(
      { env: 'immich-example.env', composeText: await composeWithoutContainerNames(true) },
      'My Immich.App',
    );
    const install = await readImmichInstall(folder);
    assert.equal(install.serverContainer, 'myimmichapp-immich-server-1');
    assert.equal(install.databaseContainer, 'myimmichapp-database-1');
  });

  test('COMPOSE_PROJECT_NAME in .env names the project before the compose file’s name does', async () => {
    const folder = await appDir({ composeText: await composeWithoutContainerNames() });
    await writeFile(path.join(folder, '.env'), 'COMPOSE_PROJECT_NAME=photos\n');
    const install = await readImmichInstall(folder);
    assert.equal(install.serverContainer, 'photos-immich-server-1');
    assert.equal(install.databaseContainer, 'photos-database-1');
  });

  test('a missing .env is reported as a problem, not thrown, and the compose file is still read', async () => {
    const folder = await appDir({ compose: 'immich-docker-compose.yml' });
    const install = await readImmichInstall(folder);
    assert.equal(install.envFile, null);
    assert.equal(install.env.size, 0);
    assert.deepEqual(install.problems, [`${path.join(folder, '.env')} does not exist`]);
    assert.equal(install.serverContainer, 'immich_server');
    assert.equal(install.databaseContainer, 'immich_postgres');
  });

  test('a missing compose file is reported as a problem, not thrown, and .env is still read', async () => {
    const folder = await appDir({ env: 'immich-example.env' });
    const install = await readImmichInstall(folder);
    assert.equal(install.composeFile, null);
    assert.equal(install.serverContainer, null);
    assert.equal(install.databaseContainer, null);
    assert.equal(install.problems.length, 1);
    assert.match(install.problems[0] ?? '', /^no compose file \(compose\.yaml, .*\) in /);
    assert.equal(install.env.get('UPLOAD_LOCATION'), './library');
  });

  test('an empty folder reports both the missing .env and the missing compose file', async () => {
    const folder = await appDir({});
    const install = await readImmichInstall(folder);
    assert.equal(install.problems.length, 2, install.problems.join('\n'));
    assert.match(install.problems[0] ?? '', /\.env does not exist$/);
    assert.match(install.problems[1] ?? '', /^no compose file/);
  });

  test('a folder that does not exist is reported, not thrown', async () => {
    const install = await readImmichInstall(path.join(root, 'no-such-folder'));
    assert.equal(install.envFile, null);
    assert.equal(install.composeFile, null);
    assert.ok(install.problems.length >= 1);
    assert.match(install.problems[0] ?? '', /\.env does not exist$/);
  });

  test('a compose file that is not valid YAML is reported with its path', async () => {
    const folder = await appDir({
      env: 'immich-example.env',
      composeText: 'services:\n  immich-server: [unclosed\n',
    });
    const install = await readImmichInstall(folder);
    assert.equal(install.composeFile, path.join(folder, 'docker-compose.yml'));
    assert.equal(install.serverContainer, null);
    assert.equal(install.problems.length, 1);
    assert.match(install.problems[0] ?? '', /docker-compose\.yml is not valid YAML/);
  });

  test('a .env that is a folder (as Docker creates for a missing bind mount) is reported', async () => {
    const folder = await appDir({ compose: 'immich-docker-compose.yml' });
    await mkdir(path.join(folder, '.env'));
    const install = await readImmichInstall(folder);
    assert.equal(install.envFile, null);
    assert.deepEqual(install.problems, [`${path.join(folder, '.env')} is a folder, not a file`]);
    assert.equal(install.serverContainer, 'immich_server');
  });
});

describe('the older env layouts of Immich are read', () => {
  test('example.env of the immich-web era gives the database keys and the upload location', async () => {
    const env = parseDotenv(await readFile(fixture('immich-example-v1.env'), 'utf8'));
    assert.equal(env.get('DB_HOSTNAME'), 'immich_postgres');
    assert.equal(env.get('DB_USERNAME'), 'postgres');
    assert.equal(env.get('DB_PASSWORD'), 'postgres');
    assert.equal(env.get('DB_DATABASE_NAME'), 'immich');
    assert.equal(
      env.get('UPLOAD_LOCATION'),
      'absolute_location_on_your_machine_where_you_want_to_store_the_backup',
    );
    assert.equal(env.get('PUBLIC_LOGIN_PAGE_MESSAGE'), '');
    assert.equal(env.get('IMMICH_SERVER_URL'), 'http://immich-server:3001');
    assert.equal(env.has('DB_PORT'), false, 'commented-out keys are not read');
    assert.equal(env.has('IMMICH_API_URL_EXTERNAL'), false, 'nor one on the last line');
  });

  test('the even older .env.example gives the database keys and the upload location', async () => {
    const env = parseDotenv(await readFile(fixture('immich-env-example-legacy.env'), 'utf8'));
    assert.equal(env.get('DB_USERNAME'), 'postgres');
    assert.equal(env.get('DB_PASSWORD'), 'postgres');
    assert.equal(env.get('DB_DATABASE_NAME'), 'immich');
    assert.equal(
      env.get('UPLOAD_LOCATION'),
      'absolute_location_on_your_machine_where_you_want_to_store_the_backup',
    );
    assert.equal(env.get('JWT_SECRET'), 'randomstringthatissolongandpowerfulthatnoonecanguess');
    assert.equal(env.get('ENABLE_MAPBOX'), 'false');
    assert.equal(env.get('VITE_LOGIN_PAGE_MESSAGE'), '');
  });

  const layouts = ['immich-example-v1.env', 'immich-env-example-legacy.env'];
  for (const layout of layouts) {
    test(`${layout} with the v1 compose file gives immich_server and immich_postgres`, async () => {
      const folder = await appDir({ env: layout, compose: 'immich-docker-compose-v1.yml' });
      const install = await readImmichInstall(folder);
      assert.deepEqual(install.problems, []);
      assert.equal(install.serverContainer, 'immich_server');
      assert.equal(install.databaseContainer, 'immich_postgres');
      assert.equal(install.env.get('DB_USERNAME'), 'postgres');
    });
  }
});

describe('containerNamesFromCompose', () => {
  const env = new Map([
    ['SUFFIX', 'prod'],
    ['PROJECT', 'Family Photos'],
  ]);
  const cases: {
    name: string;
    compose: string;
    server: string | null;
    database: string | null;
  }[] = [
    {
      name: 'container names are interpolated from .env',
      compose:
        'services:\n  immich-server:\n    container_name: server_${SUFFIX}\n  database:\n    container_name: db_${SUFFIX}\n',
      server: 'server_prod',
      database: 'db_prod',
    },
    {
      name: 'the project name is interpolated from .env and normalized',
      compose: 'name: ${PROJECT}\nservices:\n  immich-server: {}\n  database: {}\n',
      server: 'familyphotos-immich-server-1',
      database: 'familyphotos-database-1',
    },
    {
      name: 'services with other names are found by their images',
      compose: [
        'services:',
        '  web:',
        '    image: ghcr.io/immich-app/immich-server:${IMMICH_VERSION:-release}',
        '    container_name: photos_web',
        '  db:',
        '    image: docker.io/tensorchord/pgvecto-rs:pg14-v0.2.0',
        '  pg:',
        '    image: ghcr.io/immich-app/postgres:14',
        '    container_name: photos_pg',
        '',
      ].join('\n'),
      server: 'photos_web',
      database: 'photos_pg',
    },
    {
      name: 'a service named like Immich’s wins over one that merely has a matching image',
      compose: [
        'services:',
        '  other:',
        '    image: postgres:16',
        '    container_name: other_pg',
        '  database:',
        '    image: ghcr.io/immich-app/postgres:14',
        '    container_name: immich_pg',
        '',
      ].join('\n'),
      server: null,
      database: 'immich_pg',
    },
    {
      name: 'an empty service definition still gets compose’s name',
      compose: 'services:\n  immich-server:\n  database:\n',
      server: 'immich-app-immich-server-1',
      database: 'immich-app-database-1',
    },
    {
      name: 'a file without services names nothing',
      compose: 'volumes:\n  model-cache:\n',
      server: null,
      database: null,
    },
    { name: 'an empty file names nothing', compose: '', server: null, database: null },
  ];
  for (const { name, compose, server, database } of cases) {
    test(name, () => {
      assert.deepEqual(containerNamesFromCompose(compose, env, 'immich-app'), { server, database });
    });
  }

  test('invalid YAML throws, for the caller to report', () => {
    assert.throws(() => containerNamesFromCompose('services: [', env, 'x'));
  });
});
