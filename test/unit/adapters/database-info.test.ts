import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { databaseConninfo, psqlArgs } from '../../../src/adapters/database-info.js';

describe('the database goes to psql and pg_dump as a value, never as an option', () => {
  const cases: [string, string][] = [
    ['immich', "dbname='immich'"],
    ['--file=/tmp/x', "dbname='--file=/tmp/x'"],
    ['dbname=postgres host=/tmp', "dbname='dbname=postgres host=/tmp'"],
    ["o'neil", "dbname='o\\'neil'"],
    ['back\\slash', "dbname='back\\\\slash'"],
  ];
  for (const [name, conninfo] of cases) {
    test(`${JSON.stringify(name)} becomes the connection string ${conninfo}`, () => {
      assert.equal(databaseConninfo(name), conninfo);
    });
  }

  test('psql gets --username= and --dbname= with the quoted name, and no bare positional', () => {
    const args = psqlArgs('--help', '--file=/tmp/x', 'SELECT 1;');
    assert.ok(args.includes('--username=--help'));
    assert.ok(args.includes("--dbname=dbname='--file=/tmp/x'"));
    assert.deepEqual(args.slice(-2), ['-c', 'SELECT 1;']);
    assert.ok(!args.includes('--file=/tmp/x'));
  });
});
