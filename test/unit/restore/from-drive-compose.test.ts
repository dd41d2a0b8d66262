import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { composeCommand } from '../../../src/restore/from-drive-compose.js';

const project = {
  appDir: "/opt/immich 'app' $(x)",
  composeFile: 'docker-compose.yml',
  composeText: `name: Immich
services:
  immich-server:
    container_name: immich_server
    image: ghcr.io/immich-app/immich-server:\${IMMICH_VERSION:-release}
    env_file:
      - .env
  database:
    container_name: immich_postgres
    env_file: other.env
`,
  env: new Map([['IMMICH_VERSION', 'v2.7.5']]),
};

describe('compose on a new machine', () => {
  test('v2 runs the file in the app dir as it is', () => {
    const command = composeCommand('v2', project, ['up', '-d', 'database']);
    assert.equal(command.file, 'docker');
    assert.deepEqual(command.args, [
      'compose',
      '--project-directory',
      project.appDir,
      '-f',
      `${project.appDir}/docker-compose.yml`,
      'up',
      '-d',
      'database',
    ]);
    assert.equal(command.input, undefined);
  });

  test('v1 gets the project name as -p and the file without name:, env files absolute', () => {
    const command = composeCommand('v1', project, ['up', '-d']);
    assert.equal(command.file, 'docker-compose');
    assert.deepEqual(command.args, [
      '--project-name',
      'immich',
      '--project-directory',
      project.appDir,
      '--env-file',
      `${project.appDir}/.env`,
      '-f',
      '-',
      'up',
      '-d',
    ]);
    const document = parse(command.input ?? '') as {
      name?: string;
      services: Record<string, { env_file: string[]; image?: string }>;
    };
    assert.equal(document.name, undefined);
    // Compose interpolates the file: the path's `$` is written `$$`.
    assert.deepEqual(document.services['immich-server']?.env_file, [
      "/opt/immich 'app' $$(x)/.env",
    ]);
    assert.deepEqual(document.services.database?.env_file, ["/opt/immich 'app' $$(x)/other.env"]);
    // Interpolation is compose's: the reference is passed on as written.
    assert.equal(
      document.services['immich-server']?.image,
      'ghcr.io/immich-app/immich-server:${IMMICH_VERSION:-release}',
    );
  });

  test('v1 takes COMPOSE_PROJECT_NAME first, then the folder name', () => {
    const named = composeCommand(
      'v1',
      { ...project, env: new Map([['COMPOSE_PROJECT_NAME', 'Mine']]) },
      ['ps'],
    );
    assert.equal(named.args[1], 'mine');
    const unnamed = composeCommand('v1', { ...project, composeText: 'services: {}\n' }, ['ps']);
    assert.equal(unnamed.args[1], 'immichappx');
  });

  test('both flavours get the two places through the environment, and only what the agent sets', () => {
    const places = new Map([
      ['UPLOAD_LOCATION', '/new/library'],
      ['DB_DATA_LOCATION', '/new/app/postgres'],
    ]);
    const saved = process.env.COMPOSE_FILE;
    process.env.COMPOSE_FILE = '/tmp/other.yml';
    try {
      for (const flavour of ['v1', 'v2'] as const) {
        const command = composeCommand(flavour, { ...project, env: places }, ['up', '-d']);
        assert.equal(command.onlyEnv, true);
        assert.equal(command.env.UPLOAD_LOCATION, '/new/library');
        assert.equal(command.env.DB_DATA_LOCATION, '/new/app/postgres');
        assert.equal(command.env.COMPOSE_FILE, undefined);
        assert.equal(command.env.PATH, process.env.PATH);
      }
    } finally {
      if (saved === undefined) delete process.env.COMPOSE_FILE;
      else process.env.COMPOSE_FILE = saved;
    }
  });

  test('v1 (YAML 1.1) gets "on", "yes" and 22:22 with the meaning they had', () => {
    const command = composeCommand(
      'v1',
      {
        ...project,
        composeText: `services:\n  a:\n    environment:\n      X: "on"\n      Y: "yes"\n    ports:\n      - "22:22"\n`,
      },
      ['ps'],
    );
    const document = parse(command.input ?? '', { version: '1.1' }) as {
      services: { a: { environment: Record<string, unknown>; ports: unknown[] } };
    };
    assert.deepEqual(document.services.a.environment, { X: 'on', Y: 'yes' });
    assert.deepEqual(document.services.a.ports, ['22:22']);
  });
});
