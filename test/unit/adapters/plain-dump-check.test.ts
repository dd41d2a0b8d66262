import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  clusterDumpTrailer,
  dumpTrailer,
  PlainDumpCheck,
} from '../../../src/adapters/dump-check.js';
import { AgentError } from '../../../src/errors.js';

const header = '--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n';
const tables =
  'CREATE TABLE public.asset (\n  id uuid\n);\nCREATE TABLE public."user" (\n  id uuid\n);\n';
const rows = 'COPY public.asset (id) FROM stdin;\n' + 'a-row-of-data\n'.repeat(20_000) + '\\.\n';
const complete = `${header}${tables}${rows}\n--\n${dumpTrailer}\n--\n\n\\unrestrict abc123\n\n`;

/** Checks `sql` fed in pieces cut at `cuts` (byte offsets). */
function check(sql: string, cuts: number[]): ReturnType<PlainDumpCheck['end']> {
  const bytes = Buffer.from(sql);
  const dumpCheck = new PlainDumpCheck('test.sql.gz');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    dumpCheck.write(bytes.subarray(from, cut));
    from = cut;
  }
  return dumpCheck.end();
}

function refused(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AgentError);
    assert.equal(error.code, 'DUMP_FAILED');
    assert.match(error.message, message);
    return true;
  });
}

describe('the plain SQL of a dump is checked on its way to the compressor', () => {
  test('the trailer is found wherever the chunks cut it', () => {
    const at = Buffer.from(complete).indexOf(dumpTrailer);
    for (let offset = -1; offset <= dumpTrailer.length + 1; offset += 1) {
      const result = check(complete, [1000, at + offset]);
      assert.equal(result.format, 'pg_dump');
      assert.equal(result.uncompressedBytes, Buffer.byteLength(complete));
      assert.deepEqual(result.immichTables, ['asset', 'user']);
    }
  });

  test('in chunks of one byte, and in chunks far larger than the tail kept', () => {
    const small = `${header}${tables}${dumpTrailer}\n`;
    assert.equal(
      check(
        small,
        Array.from({ length: small.length - 1 }, (_, index) => index + 1),
      ).format,
      'pg_dump',
    );
    assert.equal(check(complete, []).format, 'pg_dump');
  });

  test('a dump cut short (no trailer) is refused, at any length', () => {
    const at = Buffer.from(complete).indexOf(dumpTrailer);
    for (const length of [at, at + 10, Math.floor(at / 2)]) {
      refused(
        () => check(complete.slice(0, length), [500, 70_000]),
        /incomplete.*trailer is missing/,
      );
    }
  });

  test('a trailer that is not at the end (a row holding it, then more data) is refused', () => {
    const sql = `${header}${tables}${dumpTrailer}\n${rows}`;
    refused(() => check(sql, [4096]), /incomplete/);
  });

  test('an empty dump is refused', () => {
    refused(() => check('', []), /is empty/);
  });

  test('a pg_dumpall dump needs the cluster trailer', () => {
    const cluster = `--\n-- PostgreSQL database cluster dump\n--\n${tables}${rows}`;
    assert.equal(check(`${cluster}${clusterDumpTrailer}\n`, [100]).format, 'pg_dumpall');
    refused(() => check(`${cluster}${dumpTrailer}\n`, [100]), /pg_dumpall’s completion trailer/);
  });
});
