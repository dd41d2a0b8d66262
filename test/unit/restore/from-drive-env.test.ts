import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, test } from 'node:test';
import { parseDotenv } from '../../../src/config/dotenv.js';
import { isAgentError } from '../../../src/errors.js';
import {
  assertLineBased,
  composeEnvironment,
  composeInterpolation,
  newMachineEnv,
} from '../../../src/restore/from-drive-env.js';

const immichEnv = `# comment
UPLOAD_LOCATION=./library
DB_DATA_LOCATION=./postgres
IMMICH_VERSION=v2.7.5
DB_PASSWORD=s3cret
DB_USERNAME=postgres
DB_DATABASE_NAME=immich
`;

describe("the new machine's .env", () => {
  test('points the library and the database folder at the new places, literally', () => {
    const library = '/srv/Data Main1 $(touch PWNED) #x $HOME ü 📷';
    const text = newMachineEnv(immichEnv, {
      uploadLocation: library,
      dbDataLocation: '/opt/immich app/postgres',
    });
    const values = parseDotenv(text);
    assert.equal(values.get('UPLOAD_LOCATION'), library);
    assert.equal(values.get('DB_DATA_LOCATION'), '/opt/immich app/postgres');
    assert.equal(values.get('DB_PASSWORD'), 's3cret');
    assert.equal(values.get('IMMICH_VERSION'), 'v2.7.5');
    assert.match(text, /^# comment\n/);
    assert.equal(text.match(/UPLOAD_LOCATION=/g)?.length, 1);
  });

  test('adds the keys the backed-up .env did not have', () => {
    const text = newMachineEnv('DB_PASSWORD=x', { uploadLocation: '/l', dbDataLocation: '/d' });
    assert.equal(text, "DB_PASSWORD=x\nUPLOAD_LOCATION='/l'\nDB_DATA_LOCATION='/d'\n");
  });

  test('an export prefix and a key given twice are both rewritten', () => {
    const text = newMachineEnv('export UPLOAD_LOCATION=/a\nUPLOAD_LOCATION=/b\n', {
      uploadLocation: '/new',
      dbDataLocation: '/d',
    });
    assert.equal(parseDotenv(text).get('UPLOAD_LOCATION'), '/new');
    assert.doesNotMatch(text, /\/a|\/b/);
  });

  test('refuses a path .env cannot hold literally, and a relative one', () => {
    for (const bad of ["/srv/it's", '/srv/two\nlines', 'relative/path']) {
      assert.throws(
        () => newMachineEnv(immichEnv, { uploadLocation: bad, dbDataLocation: '/d' }),
        (error) => isAgentError(error, 'CONFIG_INVALID'),
      );
    }
  });

  test('refuses a backed-up .env whose quoted value runs past its line', () => {
    assert.throws(
      () => assertLineBased("DB_PASSWORD='abc\nUPLOAD_LOCATION=/x'\n"),
      (error) => isAgentError(error, 'CONFIG_INVALID'),
    );
    assertLineBased('DB_PASSWORD=\'abc\'\nA="q \\" x"\nB=plain # note\n');
  });

  test("refuses what compose reads and the agent would not: `KEY: value`, `\\'` in single quotes", () => {
    for (const bad of [
      'DB_DATA_LOCATION=./postgres\nDB_DATA_LOCATION: /\n',
      'UPLOAD_LOCATION=./library\n  UPLOAD_LOCATION : /etc\n',
      "DB_PASSWORD='a\\'\nUPLOAD_LOCATION='/x'\n",
      'just words\n',
      'COMPOSE_FILE=/tmp/evil.yml\n',
      'DOCKER_HOST=tcp://elsewhere:2375\n',
    ]) {
      assert.throws(
        () => newMachineEnv(bad, { uploadLocation: '/l', dbDataLocation: '/d' }),
        (error) => isAgentError(error, 'CONFIG_INVALID'),
        bad,
      );
    }
  });

  test('every earlier definition of the two places is dropped; theirs are the last lines', () => {
    const text = newMachineEnv('DB_DATA_LOCATION=/\nA=1\nexport DB_DATA_LOCATION = /x\n', {
      uploadLocation: '/l',
      dbDataLocation: '/d',
    });
    assert.equal(text, "A=1\nUPLOAD_LOCATION='/l'\nDB_DATA_LOCATION='/d'\n");
  });

  test("compose's environment: PATH, a fixed HOME, DOCKER_HOST and the two places; nothing else of the agent's", () => {
    const env = new Map([
      ['UPLOAD_LOCATION', '/l'],
      ['DB_DATA_LOCATION', '/d'],
      ['DB_PASSWORD', 'pw'],
    ]);
    const out = composeEnvironment(
      {
        PATH: '/usr/bin',
        UPLOAD_LOCATION: '/',
        DB_DATA_LOCATION: '/',
        IMMICH_VERSION: 'release',
        COMPOSE_FILE: '/evil.yml',
        COMPOSE_PROJECT_NAME: 'other',
        DB_PASSWORD: 'agent',
        HOME: '/home/attacker',
        DOCKER_HOST: 'unix:///run/docker.sock',
        DOCKER_CONFIG: '/tmp/evil',
        SHELL: '/bin/sh',
      },
      env,
    );
    assert.deepEqual(out, {
      PATH: '/usr/bin',
      HOME: os.userInfo().homedir,
      DOCKER_HOST: 'unix:///run/docker.sock',
      UPLOAD_LOCATION: '/l',
      DB_DATA_LOCATION: '/d',
    });
    // The check interpolates with exactly that, over .env.
    const values = composeInterpolation(env, { PATH: '/usr/bin', HOME: '/home/attacker' });
    assert.equal(values.get('HOME'), os.userInfo().homedir);
    assert.equal(values.get('DB_PASSWORD'), 'pw');
    assert.equal(values.get('SHELL'), undefined);
  });

  test('a .env value naming a variable no earlier line defines is refused', () => {
    const places = { uploadLocation: '/l', dbDataLocation: '/d' };
    for (const line of [
      'X=${HOME}/evil',
      'X=$PATH',
      'X="${UPLOAD_LOCATION}/../.."',
      'X=${A:+/}',
      'X=${NOPE:-/}',
    ]) {
      assert.throws(
        () => newMachineEnv(`${line}\n`, places),
        (error: unknown) => isAgentError(error) && error.code === 'CONFIG_INVALID',
        line,
      );
    }
    // Defined earlier, `$$`, and single quotes (literal) are fine.
    const text = newMachineEnv("A=1\nB=${A}/x$$y\nC='$HOME'\n", places);
    assert.match(text, /B=\$\{A\}\/x\$\$y/);
  });
});
