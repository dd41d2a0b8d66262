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
    // Written afresh: a comment of the agent's, then KEY='value' lines only.
    assert.match(text, /^# Immich's \.env, written by immich-backup-agent/);
    assert.doesNotMatch(text, /^# comment$/m);
    assert.equal(text.match(/UPLOAD_LOCATION=/g)?.length, 1);
    assert.match(text, /^DB_PASSWORD='s3cret'$/m);
  });

  test('adds the keys the backed-up .env did not have', () => {
    const text = newMachineEnv('DB_PASSWORD=x', { uploadLocation: '/l', dbDataLocation: '/d' });
    assert.equal(
      text
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n'),
      "DB_PASSWORD='x'\nUPLOAD_LOCATION='/l'\nDB_DATA_LOCATION='/d'\n",
    );
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
    assert.equal(
      text
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n'),
      "A='1'\nUPLOAD_LOCATION='/l'\nDB_DATA_LOCATION='/d'\n",
    );
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
    // Defined earlier is fine: written as the value the agent read.
    const text = newMachineEnv('A=1\nB=${A}/x\n', places);
    assert.match(text, /^B='1\/x'$/m);
  });

  test("what compose and the agent would read differently never reaches compose (review's attacks)", () => {
    const places = { uploadLocation: '/l', dbDataLocation: '/d' };
    // Refused: text after a closing quote (v2 reads on, v1 drops the line), a `$` that v1
    // expands even in single quotes, or a `$$`, a control character.
    for (const bad of [
      "V='hostroot' V=/\n",
      "X='x' COMPOSE_PROJECT_NAME=otherapp\n",
      'E=".env" E=/etc/hostname\n',
      "W=/\nV='${W}'\n",
      'V=a$$b\n',
      'V="a\\tb"\n',
      'A.B=1\n',
    ]) {
      assert.throws(
        () => newMachineEnv(bad, places),
        (error: unknown) => isAgentError(error) && error.code === 'CONFIG_INVALID',
        JSON.stringify(bad),
      );
    }
    // Written as the agent read them, literally: compose has nothing left to interpret.
    for (const [given, key, value] of [
      ['V="\\0057"\n', 'V', '0057'],
      ['HOME=hostroot\nV=${HOME}\n', 'V', 'hostroot'],
      ['W=hostroot\nV=${W-x}\n', 'V', 'hostroot'],
      ['V=plain # a comment\n', 'V', 'plain'],
    ] as const) {
      const text = newMachineEnv(given, places);
      assert.equal(parseDotenv(text).get(key), value, given);
      for (const line of text.split('\n').filter((line) => line !== '' && !line.startsWith('#')))
        assert.match(line, /^[A-Za-z_][A-Za-z0-9_]*='[^'\\$]*'$/, given);
    }
  });
});
