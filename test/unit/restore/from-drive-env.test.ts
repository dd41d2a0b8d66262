import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDotenv } from '../../../src/config/dotenv.js';
import { isAgentError } from '../../../src/errors.js';
import {
  assertLineBased,
  composeEnvironment,
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

  test("compose's environment: the two places set, the agent's own project values not passed", () => {
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
      },
      env,
    );
    assert.deepEqual(out, { PATH: '/usr/bin', UPLOAD_LOCATION: '/l', DB_DATA_LOCATION: '/d' });
  });
});
