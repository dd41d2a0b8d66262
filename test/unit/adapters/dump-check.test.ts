import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DumpCheck, dumpTrailer } from '../../../src/adapters/dump-check.js';

/** Feeds a dump's SQL, gzipped, in chunks of `size` bytes, and ends the check. */
async function check(sql: string, size = 7): ReturnType<DumpCheck['end']> {
  const compressed = gzipSync(Buffer.from(sql));
  const dumpCheck = new DumpCheck('test.sql.gz');
  // Small chunks: a CREATE TABLE line is cut between chunks on its way through.
  for (let offset = 0; offset < compressed.length; offset += size)
    await dumpCheck.write(compressed.subarray(offset, offset + size));
  return dumpCheck.end();
}

const header = '--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n';
const filler = 'COPY public.exif (x) FROM stdin;\n' + 'row\n'.repeat(50_000) + '\\.\n';

describe('a dump is checked to be Immich’s', () => {
  test('Immich v2’s tables (asset, "user") are found', async () => {
    const sql = `${header}CREATE TABLE public.asset (\n  id uuid\n);\nCREATE TABLE public."user" (\n  id uuid\n);\n${filler}${dumpTrailer}\n`;
    assert.deepEqual((await check(sql)).immichTables, ['asset', 'user']);
  });

  test('older Immich’s tables (assets, users), written without the schema, are found', async () => {
    const sql = `${header}CREATE TABLE users (\n  id uuid\n);\nCREATE TABLE assets (\n  id uuid\n);\n${filler}${dumpTrailer}\n`;
    assert.deepEqual((await check(sql, 4096)).immichTables, ['asset', 'user']);
  });

  test('a complete dump of another database (postgres) has none of them', async () => {
    const sql = `${header}CREATE TABLE public.assets_audit (\n  id uuid\n);\nCREATE TABLE public.users_x (\n  id uuid\n);\n${filler}${dumpTrailer}\n`;
    const result = await check(sql);
    assert.deepEqual(result.immichTables, []);
    assert.equal(result.format, 'pg_dump');
  });

  test('rows that look like CREATE TABLE lines, in the data, are not taken for tables', async () => {
    const sql = `${header}COPY public.notes (text) FROM stdin;\nCREATE TABLE public.asset (\nCREATE TABLE public."user" (\n\\.\n${dumpTrailer}\n`;
    assert.deepEqual((await check(sql)).immichTables, []);
  });
});
