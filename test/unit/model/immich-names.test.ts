import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  containerNameProblem,
  postgresNameProblem,
  uploadLocationProblem,
} from '../../../src/model/immich-names.js';

describe('container names are checked by Docker’s own rule', () => {
  for (const name of [
    'immich_server',
    'immich_postgres',
    'immich-database-1',
    'db.1',
    'a1',
    '9x',
  ]) {
    test(`${name} is a name Docker accepts`, () => {
      assert.equal(containerNameProblem(name), null);
    });
  }
  for (const name of [
    'a/../b',
    '../etc',
    '/immich_server',
    'a',
    '',
    '-rm',
    '_x',
    'a b',
    'ä1',
    'a\0b',
    'x?all=1',
  ]) {
    test(`${JSON.stringify(name)} is refused, with why`, () => {
      assert.match(containerNameProblem(name) ?? '', /is not a container name Docker accepts/);
    });
  }
});

describe('database and role names are plain PostgreSQL names', () => {
  for (const name of ['immich', 'postgres', 'Immich_2', '_x', 'immich-prod', 'a'.repeat(63)]) {
    test(`${name.slice(0, 20)} passes`, () => {
      assert.equal(postgresNameProblem(name), null);
    });
  }
  for (const name of [
    '--file=/tmp/pwned',
    '-immich',
    'dbname=postgres host=/tmp',
    'immich prod',
    "imm'ich",
    'imm"ich',
    'a=b',
    'postgresql://evil/immich',
    '1immich',
    'a'.repeat(64),
    '',
    'imm\0ich',
    'imm\nich',
    'immich$(id)',
  ]) {
    test(`${JSON.stringify(name.slice(0, 30))} is refused`, () => {
      assert.match(postgresNameProblem(name) ?? '', /is not a plain PostgreSQL name/);
    });
  }
});

describe('UPLOAD_LOCATION is a path without control characters', () => {
  for (const value of ['./library', '/srv/immich/library', '../Data Main1/library ü 📷']) {
    test(`${value} passes`, () => assert.equal(uploadLocationProblem(value), null));
  }
  for (const value of ['', '   ', '/srv/lib\0/etc', '/srv/lib\nrm', '/srv/\u007f']) {
    test(`${JSON.stringify(value)} is refused`, () => {
      assert.notEqual(uploadLocationProblem(value), null);
    });
  }
});
