import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import {
  emptySearchPath,
  immichSearchPath,
  SearchPathFix,
} from '../../../src/restore/search-path-fix.js';

/** Runs text through the fix in chunks of `size` bytes (1: every byte its own chunk). */
async function fixed(
  text: string,
  format: 'pg_dump' | 'pg_dumpall' = 'pg_dump',
  size = 7,
): Promise<string> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    chunks.push(bytes.subarray(offset, offset + size));
  return (await buffer(Readable.from(chunks).pipe(new SearchPathFix(format)))).toString('utf8');
}

const header = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict 8fKq2p',
  '',
  '-- Dumped from database version 17.7',
  '',
  'SET statement_timeout = 0;',
  "SET client_encoding = 'UTF8';",
  emptySearchPath,
  'SET check_function_bodies = false;',
  '',
];

describe('SearchPathFix rewrites pg_dump’s search_path line in the header only', () => {
  test('the header line becomes Immich’s search_path', async () => {
    const out = await fixed([...header, 'CREATE TABLE public.t (a text);', ''].join('\n'));
    assert.ok(out.split('\n').includes(immichSearchPath));
    assert.ok(!out.split('\n').includes(emptySearchPath));
  });

  test('the same line as COPY data (an album description) comes back untouched', async () => {
    const body = [
      'CREATE TABLE public.album (d text);',
      'COPY public.album (d) FROM stdin;',
      `Our trip\\n${emptySearchPath}\\nend`,
      emptySearchPath,
      '\\.',
      '',
    ];
    const input = [...header, ...body].join('\n');
    const out = await fixed(input);
    assert.equal(out, input.replace(emptySearchPath, immichSearchPath));
    assert.equal(out.split(emptySearchPath).length - 1, 2, 'both data lines kept');
  });

  test('a function body holding the line is untouched, in any chunking', async () => {
    const body = [
      'CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$',
      emptySearchPath,
      '$$;',
      '',
    ];
    const input = [...header, ...body].join('\n');
    for (const size of [1, 3, 64, 1 << 16])
      assert.equal(
        await fixed(input, 'pg_dump', size),
        input.replace(emptySearchPath, immichSearchPath),
      );
  });

  test('UTF-8 and bytes that are not text pass byte for byte', async () => {
    const input = [...header, "INSERT INTO t VALUES ('Ána 📷 ü');", ''].join('\n');
    const out = await fixed(input, 'pg_dump', 1);
    assert.equal(out, input.replace(emptySearchPath, immichSearchPath));
  });

  test('a pg_dumpall dump gets the fix after every \\connect, and nowhere in its data', async () => {
    const database = (name: string): string[] => [
      `\\connect ${name}`,
      '',
      ...header,
      'COPY public.album (d) FROM stdin;',
      emptySearchPath,
      '\\\\connect evil',
      '\\.',
      '',
    ];
    const input = ['CREATE ROLE postgres;', ...database('immich'), ...database('other')].join('\n');
    const lines = (await fixed(input, 'pg_dumpall', 5)).split('\n');
    assert.equal(lines.filter((line) => line === immichSearchPath).length, 2);
    assert.equal(lines.filter((line) => line === emptySearchPath).length, 2, 'data kept');
  });

  test('a dump without a newline at the end keeps its last line', async () => {
    const input = [...header, 'SELECT 1;'].join('\n');
    assert.equal(await fixed(input), input.replace(emptySearchPath, immichSearchPath));
  });
});
