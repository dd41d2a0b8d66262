import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isAgentError } from '../../../src/errors.js';
import { readDumpCatalogue } from '../../../src/verify/dump-catalogue.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dump-edges-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let fileCount = 0;
async function dumpFile(sql: string): Promise<string> {
  const file = path.join(root, `dump-${(fileCount += 1)}.sql.gz`);
  await writeFile(file, gzipSync(sql));
  return file;
}

async function assetIds(file: string, database = 'immich'): Promise<string[]> {
  const ids: string[] = [];
  await readDumpCatalogue(file, { database, onAsset: (asset) => ids.push(asset.id) });
  return ids;
}

const sha = `\\\\x${'ab'.repeat(20)}`;
const assetTable = (owner: string): string =>
  `COPY public.asset (id, "originalPath", checksum) FROM stdin;\n${owner}-1\t/data/a.jpg\t${sha}\n\\.\n`;

describe('a table without columns', () => {
  test('pg_dump writes it without a column list; its rows (empty lines) are passed over', async () => {
    // As pg_dump 15 and 17 write `CREATE TABLE public.t ();` with two rows.
    const sql = `COPY public.t  FROM stdin;\n\n\n\\.\n\n${assetTable('a')}COPY public."user"  FROM stdin;\n\n\\.\n`;
    assert.deepEqual(await assetIds(await dumpFile(sql)), ['a-1']);
  });
});

describe("pg_dumpall's header counts only at the start of the file", () => {
  test('a pg_dump whose function body holds the header line is still one database', async () => {
    const sql = `--
-- PostgreSQL database dump
--

CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$
SELECT '
-- PostgreSQL database cluster dump
'$$;
${assetTable('a')}`;
    assert.deepEqual(await assetIds(await dumpFile(sql), 'photos'), ['a-1']);
  });
});

/** A cut-down `pg_dumpall --clean --if-exists` of PostgreSQL 17.12, as Immich's backups are. */
const cleanClusterDump = (inside: string): string => `--
-- PostgreSQL database cluster dump
--

\\restrict yX2f9ruc

SET default_transaction_read_only = off;

--
-- Drop databases (except postgres and template1)
--

DROP DATABASE IF EXISTS immich;
DROP DATABASE IF EXISTS "my-db";

DROP ROLE IF EXISTS postgres;
CREATE ROLE postgres;

\\unrestrict yX2f9ruc

--
-- Databases
--

\\restrict Aa1
DROP DATABASE template1;
CREATE DATABASE template1 WITH TEMPLATE = template0 ENCODING = 'UTF8';
\\unrestrict Aa1
\\connect template1
\\restrict Aa1
${assetTable('template1')}\\unrestrict Aa1

\\restrict Bb2
DROP DATABASE IF EXISTS immich;
CREATE DATABASE immich WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc;
ALTER DATABASE immich OWNER TO postgres;

\\unrestrict Bb2
\\connect immich
\\restrict Bb2
SET client_encoding = 'UTF8';
${inside}\\unrestrict Bb2

\\restrict Cc3
DROP DATABASE IF EXISTS "my-db";
CREATE DATABASE "my-db" WITH TEMPLATE = template0 ENCODING = 'UTF8';
\\unrestrict Cc3
\\connect -reuse-previous=on "dbname='my-db'"
\\restrict Cc3
${assetTable('my-db')}\\unrestrict Cc3

\\restrict Dd4
DROP DATABASE postgres;
CREATE DATABASE postgres WITH TEMPLATE = template0;
\\unrestrict Dd4
\\connect postgres
\\restrict Dd4
${assetTable('postgres')}\\unrestrict Dd4

--
-- PostgreSQL database cluster dump complete
--
`;

describe('a pg_dumpall --clean --if-exists dump, as Immich backs itself up', () => {
  test('each database is read from its own section, DROP and CREATE lines passed over', async () => {
    const file = await dumpFile(cleanClusterDump(assetTable('immich')));
    assert.deepEqual(await assetIds(file), ['immich-1']);
    assert.deepEqual(await assetIds(file, 'my-db'), ['my-db-1']);
    assert.deepEqual(await assetIds(file, 'postgres'), ['postgres-1']);
  });

  test('inside the database, `\\connect - user` and a bare `\\connect` stay on it', async () => {
    const inside = `\\connect - postgres\n${assetTable('immich')}\\connect\nCOPY public.asset_file (id, type, path) FROM stdin;\nf1\tsidecar\t/data/a.xmp\n\\.\n`;
    const paths: string[] = [];
    const summary = await readDumpCatalogue(await dumpFile(cleanClusterDump(inside)), {
      database: 'immich',
      onAsset: () => {},
      onReferenced: (file) => paths.push(file.path),
    });
    assert.equal(summary.assets, 1);
    assert.deepEqual(paths, ['/data/a.xmp']);
  });
});

describe('the dump is opened through its folder without following any link', () => {
  const refused = (pattern: RegExp) => (error: unknown) => {
    assert.ok(isAgentError(error, 'VERIFY_FAILED'), String(error));
    assert.match(error.message, pattern);
    assert.ok(error.hint);
    return true;
  };

  test('a symlinked folder on the way is refused, naming it', async () => {
    const real = path.join(root, 'real-backups');
    await mkdir(real);
    await writeFile(path.join(real, 'immich.sql.gz'), gzipSync(assetTable('a')));
    assert.deepEqual(await assetIds(path.join(real, 'immich.sql.gz')), ['a-1']);
    const linked = path.join(root, 'planted');
    await symlink(real, linked);
    await assert.rejects(
      assetIds(path.join(linked, 'immich.sql.gz')),
      refused(/the folder .*planted is a symlink \(not followed on the drive\)/),
    );
  });

  test('a symlinked dump is refused; a folder or a missing one is no dump', async () => {
    const link = path.join(root, 'link.sql.gz');
    await symlink(await dumpFile(assetTable('a')), link);
    await assert.rejects(assetIds(link), refused(/link\.sql\.gz cannot be read: it is a symlink/));
    await mkdir(path.join(root, 'folder.sql.gz'));
    await assert.rejects(
      assetIds(path.join(root, 'folder.sql.gz')),
      refused(/it is not a regular file/),
    );
    await assert.rejects(assetIds(path.join(root, 'gone.sql.gz')), refused(/it is not there/));
    await assert.rejects(
      assetIds(path.join(root, 'no-folder', 'x.sql.gz')),
      refused(/its folder is not there/),
    );
  });
});
