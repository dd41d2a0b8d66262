import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isAgentError } from '../../../src/errors.js';
import { readDumpCatalogue } from '../../../src/verify/dump-catalogue.js';
import { LineSplitter } from '../../../src/verify/dump-lines.js';
import type { CatalogueAsset, ReferencedFile } from '../../../src/verify/immich-catalogue.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dump-catalogue-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (byte: string): string => byte.repeat(20);
let fileCount = 0;
async function dumpFile(sql: string): Promise<string> {
  const file = path.join(root, `dump-${(fileCount += 1)}.sql.gz`);
  await writeFile(file, gzipSync(sql));
  return file;
}

async function read(file: string, database = 'immich') {
  const assets: CatalogueAsset[] = [];
  const referenced: ReferencedFile[] = [];
  const summary = await readDumpCatalogue(file, {
    database,
    onAsset: (asset) => assets.push(asset),
    onReferenced: (entry) => referenced.push(entry),
  });
  return { summary, assets, referenced };
}

/** Immich v2.7.5's tables as pg_dump writes them, with rows that break naive readers. */
function currentTables(owner: string): string {
  return `COPY public.album (id, description) FROM stdin;
a1\tCOPY public.asset (id, "originalPath") FROM stdin;\\n\\\\.\\nnot the end
\\.

COPY public.asset (id, "deviceAssetId", "originalPath", checksum, "checksumAlgorithm", "isExternal", "deletedAt", "isEdited") FROM stdin;
${owner}-1\tIMG\t/data/library/admin/Grandma's "best" \\\\ day\\n📷.jpg\t\\\\x${sha('ab')}\tsha1\tf\t\\N\tf
${owner}-2\tDSC\t/mnt/external/Trip 1/DSC_1.JPG\t\\\\x${sha('cd')}\tsha1-path\tt\t\\N\tf
${owner}-3\tIMG\t/data/upload/u/ab/cd/x\\tab.jpg\t\\\\x${'ef'.repeat(32)}\tsha1\tf\t2024-05-01 12:00:00+00\tf
\\.

COPY public.asset_file (id, "assetId", type, path, "isEdited") FROM stdin;
f1\t${owner}-1\tthumbnail\t/data/thumbs/u/a-thumbnail.webp\tf
f2\t${owner}-1\tsidecar\t/data/library/admin/x.jpg.xmp\tf
f3\t${owner}-1\tfullsize_edited_future\t/data/thumbs/u/a-edited.jpeg\tt
\\.

COPY public.person (id, name, "thumbnailPath") FROM stdin;
p1\tOma 👵\t/data/thumbs/u/p1.jpeg
p2\t\t
\\.

COPY public.smart_search ("assetId", embedding) FROM stdin;
${owner}-1\t[${Array.from({ length: 512 }, (_, index) => Math.sin(index).toFixed(6)).join(',')}]
\\.

COPY public."user" (id, "profileImagePath", name) FROM stdin;
u1\t/data/profile/u1/me.jpg\tGonzalo
u2\t\tKid\\nwith newline
\\.
`;
}

const pgDumpHeader = `--
-- PostgreSQL database dump
--

\\restrict abc123
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
`;

describe('readDumpCatalogue reads a pg_dump of Immich', () => {
  test('every asset with its checksum, algorithm, external and trash flags, exactly', async () => {
    const { summary, assets } = await read(await dumpFile(pgDumpHeader + currentTables('a')));
    assert.deepEqual(summary, { assets: 3, referenced: 5, assetTable: 'public.asset' });
    assert.deepEqual(assets, [
      {
        id: 'a-1',
        originalPath: `/data/library/admin/Grandma's "best" \\ day\n📷.jpg`,
        checksum: sha('ab'),
        algorithm: 'sha1',
        isExternal: false,
        trashed: false,
      },
      {
        id: 'a-2',
        originalPath: '/mnt/external/Trip 1/DSC_1.JPG',
        checksum: sha('cd'),
        algorithm: 'sha1-path',
        isExternal: true,
        trashed: false,
      },
      {
        id: 'a-3',
        originalPath: '/data/upload/u/ab/cd/x\tab.jpg',
        checksum: null,
        algorithm: 'sha1',
        isExternal: false,
        trashed: true,
      },
    ]);
  });

  test('the files asset_file, person and user name; empty paths are no files', async () => {
    const { referenced } = await read(await dumpFile(pgDumpHeader + currentTables('a')));
    assert.deepEqual(referenced, [
      { kind: 'thumbnail', path: '/data/thumbs/u/a-thumbnail.webp' },
      { kind: 'sidecar', path: '/data/library/admin/x.jpg.xmp' },
      { kind: 'other', path: '/data/thumbs/u/a-edited.jpeg' },
      { kind: 'person', path: '/data/thumbs/u/p1.jpeg' },
      { kind: 'profile', path: '/data/profile/u1/me.jpg' },
    ]);
  });

  test("an older Immich's plural tables, without checksumAlgorithm, with paths on the asset row", async () => {
    const sql = `${pgDumpHeader}COPY public.assets (id, "originalPath", checksum, "isExternal", "deletedAt", "encodedVideoPath", "sidecarPath", "resizePath", "webpPath") FROM stdin;
o1\tupload/library/admin/IMG_1.jpg\t\\\\x${sha('01')}\tf\t\\N\t\tupload/library/admin/IMG_1.jpg.xmp\tupload/thumbs/o1.jpeg\tupload/thumbs/o1.webp
o2\t/mnt/nas/x.jpg\t\\\\x${sha('02')}\tt\t\\N\t/usr/src/app/upload/encoded-video/o2.mp4\t\\N\t\\N\t\\N
\\.
COPY public.asset_files (id, "assetId", type, path) FROM stdin;
f1\to1\tpreview\t/usr/src/app/upload/thumbs/o1-preview.jpeg
\\.
COPY public.users (id, "profileImagePath") FROM stdin;
u1\t/usr/src/app/upload/profile/u1.jpg
\\.
`;
    const { summary, assets, referenced } = await read(await dumpFile(sql));
    assert.equal(summary.assetTable, 'public.assets');
    assert.deepEqual(
      assets.map((asset) => [asset.id, asset.checksum, asset.algorithm, asset.isExternal]),
      [
        ['o1', sha('01'), null, false],
        ['o2', sha('02'), null, true],
      ],
    );
    assert.deepEqual(referenced, [
      { kind: 'sidecar', path: 'upload/library/admin/IMG_1.jpg.xmp' },
      { kind: 'thumbnail', path: 'upload/thumbs/o1.webp' },
      { kind: 'preview', path: 'upload/thumbs/o1.jpeg' },
      { kind: 'encoded_video', path: '/usr/src/app/upload/encoded-video/o2.mp4' },
      { kind: 'preview', path: '/usr/src/app/upload/thumbs/o1-preview.jpeg' },
      { kind: 'profile', path: '/usr/src/app/upload/profile/u1.jpg' },
    ]);
  });

  test('the first Immich tables with neither isExternal nor deletedAt, users without a profile image', async () => {
    const sql = `COPY assets (id, "originalPath", checksum) FROM stdin;\nx\tupload/a.jpg\t\\\\x${sha('aa')}\n\\.\nCOPY users (id, email) FROM stdin;\nu\ta@b\n\\.\n`;
    const { assets, summary } = await read(await dumpFile(sql));
    assert.equal(summary.assetTable, 'assets');
    assert.equal(summary.referenced, 0);
    assert.deepEqual(assets, [
      {
        id: 'x',
        originalPath: 'upload/a.jpg',
        checksum: sha('aa'),
        algorithm: null,
        isExternal: false,
        trashed: false,
      },
    ]);
  });
});

describe('readDumpCatalogue reads one database of a pg_dumpall cluster dump', () => {
  const cluster = (connect: string): string => `\\restrict k1
--
-- PostgreSQL database cluster dump
--

CREATE ROLE postgres;
\\unrestrict k1
\\connect template1
\\restrict k2
\\unrestrict k2
--
-- Database "other" dump
--
CREATE DATABASE other WITH TEMPLATE = template0;
\\connect other
${currentTables('other')}
CREATE DATABASE "my-db" WITH TEMPLATE = template0;
\\encoding SQL_ASCII
${connect}
${currentTables('mine')}
\\connect postgres
-- PostgreSQL database cluster dump complete
`;

  test("only the tables after the database's \\connect line, as newer pg_dumpall writes it", async () => {
    const file = await dumpFile(cluster(`\\connect -reuse-previous=on "dbname='my-db'"`));
    const { assets, summary } = await read(file, 'my-db');
    assert.deepEqual(
      assets.map((asset) => asset.id),
      ['mine-1', 'mine-2', 'mine-3'],
    );
    assert.equal(summary.referenced, 5);
    const other = await read(file, 'other');
    assert.deepEqual(
      other.assets.map((asset) => asset.id),
      ['other-1', 'other-2', 'other-3'],
    );
  });

  test('older pg_dumpall: \\connect name', async () => {
    const file = await dumpFile(cluster('\\connect immich'));
    const { assets } = await read(file, 'immich');
    assert.equal(assets[0]?.id, 'mine-1');
  });

  test('a database the cluster dump does not hold: VERIFY_FAILED naming it', async () => {
    const file = await dumpFile(cluster('\\connect immich'));
    await assert.rejects(read(file, 'photos'), (error) => {
      assert.ok(isAgentError(error, 'VERIFY_FAILED'));
      assert.match(error.message, /no asset table in the database photos/);
      assert.ok(error.hint);
      return true;
    });
  });
});

describe('readDumpCatalogue refuses what it cannot read', () => {
  const refuses = async (file: string, pattern: RegExp) =>
    assert.rejects(read(file), (error) => {
      assert.ok(isAgentError(error, 'VERIFY_FAILED'), String(error));
      assert.match(error.message, pattern);
      assert.ok(error.hint);
      return true;
    });

  test('a dump without an asset table', async () => {
    await refuses(await dumpFile('COPY public.album (id) FROM stdin;\n1\n\\.\n'), /no asset table/);
  });

  test('a symlink to a dump is not followed; a folder is not a dump; a missing one', async () => {
    const target = await dumpFile(pgDumpHeader + currentTables('a'));
    const link = path.join(root, 'link.sql.gz');
    await symlink(target, link);
    await refuses(link, /symlink/);
    await refuses(root, /not a regular file/);
    await refuses(path.join(root, 'missing.sql.gz'), /not there/);
  });

  test('damaged gzip data, a dump cut off inside table data, a row with a field missing', async () => {
    const whole = gzipSync(pgDumpHeader + currentTables('a'));
    const damaged = Buffer.from(whole);
    damaged.fill(0x55, 200, 260);
    const file = path.join(root, 'damaged.sql.gz');
    await writeFile(file, damaged);
    await refuses(file, /cannot be read/);
    await writeFile(file, whole.subarray(0, whole.length - 40));
    await refuses(file, /cannot be read/);
    await refuses(
      await dumpFile('COPY public.asset (id, "originalPath", checksum) FROM stdin;\nx\ty\tz\n'),
      /ends inside the data of asset/,
    );
    await refuses(
      await dumpFile('COPY public.asset (id, "originalPath", checksum) FROM stdin;\nx\ty\n\\.\n'),
      /2 fields instead of 3/,
    );
    await refuses(
      await dumpFile('COPY public.asset (id, checksum) FROM stdin;\n\\.\n'),
      /no column originalPath/,
    );
  });

  test('an abort stops the read with INTERRUPTED', async () => {
    const file = await dumpFile(pgDumpHeader + currentTables('a'));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      readDumpCatalogue(file, { database: 'immich', signal: controller.signal, onAsset: () => {} }),
      (error) => isAgentError(error, 'INTERRUPTED'),
    );
  });
});

describe('the line splitter holds at most one line, cut at its limit', () => {
  test('lines across chunks come whole; a longer one comes cut, and the next one whole', () => {
    const lines: [string, boolean][] = [];
    const splitter = new LineSplitter(8, (line, whole) => {
      lines.push([line.toString('utf8'), whole]);
    });
    for (const chunk of ['ab\ncd', 'ef\n0123456789', 'abcdef\nlast', ' line'])
      splitter.push(Buffer.from(chunk));
    splitter.end();
    assert.deepEqual(lines, [
      ['ab', true],
      ['cdef', true],
      ['01234567', false],
      ['last lin', false],
    ]);
  });

  test('a handler that returns true stops it', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(100, (line) => lines.push(line.toString()) === 2);
    splitter.push(Buffer.from('1\n2\n3\n'));
    assert.deepEqual(lines, ['1', '2']);
    assert.equal(splitter.stopped, true);
  });
});

test("an error of the caller's own callback comes back as it was thrown", async () => {
  const file = await dumpFile(pgDumpHeader + currentTables('a'));
  const mine = new Error('the verifier gave up');
  await assert.rejects(
    readDumpCatalogue(file, {
      database: 'immich',
      onAsset: () => {
        throw mine;
      },
    }),
    (error) => error === mine,
  );
});
