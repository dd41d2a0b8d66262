import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { execa } from 'execa';
import { localDate } from '../../src/format.js';
import { readDumpCatalogue } from '../../src/verify/dump-catalogue.js';
import {
  hasContentChecksum,
  type CatalogueAsset,
  type ReferencedFile,
} from '../../src/verify/immich-catalogue.js';
import { psql, startDatabase } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { seedImmichDatabase, seedOlderImmichDatabase } from '../env/immich-database.js';
import { originalContent, sha1Hex } from '../env/immich-originals.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** What readDumpCatalogue reported, sorted so it compares with the database's own rows. */
async function catalogue(dumpFile: string, database = 'immich') {
  const assets: CatalogueAsset[] = [];
  const referenced: ReferencedFile[] = [];
  const summary = await readDumpCatalogue(dumpFile, {
    database,
    onAsset: (asset) => assets.push(asset),
    onReferenced: (file) => referenced.push(file),
  });
  assets.sort((a, b) => a.id.localeCompare(b.id));
  referenced.sort(byKindAndPath);
  return { summary, assets, referenced };
}

const byKindAndPath = (a: ReferencedFile, b: ReferencedFile): number =>
  a.kind.localeCompare(b.kind) || a.path.localeCompare(b.path);

/** The asset rows as the database has them (a checksum that is not 20 bytes is no SHA-1). */
async function databaseAssets(container: string, database: string, older = false) {
  const select = older
    ? `'algorithm', NULL, 'isExternal', false, 'trashed', false`
    : `'algorithm', "checksumAlgorithm", 'isExternal', "isExternal", 'trashed', "deletedAt" IS NOT NULL`;
  const json = await psql(
    container,
    `SELECT coalesce(json_agg(json_build_object('id', id, 'originalPath', "originalPath",
       'checksum', CASE WHEN length(checksum) = 20 THEN encode(checksum, 'hex') END, ${select})), '[]')
     FROM ${older ? 'assets' : 'asset'};`,
    { database },
  );
  return (JSON.parse(json) as CatalogueAsset[]).sort((a, b) => a.id.localeCompare(b.id));
}

/** The other files Immich's tables name (asset_file, person, user), empty paths left out. */
async function databaseReferenced(container: string, database = 'immich') {
  const json = await psql(
    container,
    `SELECT coalesce(json_agg(json_build_object('kind', kind, 'path', path)), '[]') FROM (
       SELECT type AS kind, path FROM asset_file
       UNION ALL SELECT 'person', "thumbnailPath" FROM person
       UNION ALL SELECT 'profile', "profileImagePath" FROM "user") AS files WHERE path <> '';`,
    { database },
  );
  return (JSON.parse(json) as ReferencedFile[]).sort(byKindAndPath);
}

/** Immich's id of the seed's asset number g (md5('asset:' || g)::uuid). */
const seedAssetId = (g: number): string =>
  createHash('md5')
    .update(`asset:${g}`)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

describe("the agent's own dump on the drive lists every asset of Immich v2.7.5 exactly", () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3 });
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('every asset row with its path, SHA-1, algorithm and flags; every file the tables name', async () => {
    const expected = await databaseAssets(bed.database, 'immich');
    const files = await databaseReferenced(bed.database);
    const found = await withDriveMounted(sandbox, bed.drive, (root) =>
      catalogue(path.join(root, 'immich-backup', `immich-db-${localDate(new Date())}.sql.gz`)),
    );
    assert.equal(found.summary.assetTable, 'public.asset');
    assert.equal(found.summary.assets, expected.length);
    assert.ok(expected.length >= 2000);
    assert.deepEqual(found.assets, expected);
    // The seed's paths hold quotes, emoji and spaces; its checksums are SHA-1s of the content the
    // bed writes for each original (test/env/immich-originals.ts).
    assert.ok(found.assets.some((asset) => /"\d+" O'Brien ü 📷\.heic$/.test(asset.originalPath)));
    const second = found.assets.find((asset) => asset.id === seedAssetId(2));
    assert.equal(second?.checksum, sha1Hex(originalContent(seedAssetId(2))));
    assert.ok(second && hasContentChecksum(second));
    // External library assets: a hash of the path, never taken for the content's.
    const external = found.assets.filter((asset) => asset.isExternal);
    assert.ok(external.length > 0);
    for (const asset of external) {
      assert.equal(asset.algorithm, 'sha1-path');
      assert.equal(hasContentChecksum(asset), false);
    }
    assert.ok(found.assets.some((asset) => asset.trashed));
    assert.equal(found.summary.referenced, files.length);
    assert.deepEqual(found.referenced, files);
    assert.deepEqual([...new Set(found.referenced.map((file) => file.kind))].sort(), [
      'encoded_video',
      'person',
      'preview',
      'profile',
      'sidecar',
      'thumbnail',
    ]);
  });
});

describe('older layouts and cluster dumps', () => {
  let sandbox: Sandbox;
  let container: string;
  let clusterDump: string;

  before(async () => {
    sandbox = await createSandbox();
    container = await startDatabase(sandbox, 'cluster');
    await seedImmichDatabase(container, 300);
    // A second database with an older Immich's plural tables, and a name that needs quoting.
    await psql(container, 'CREATE DATABASE "old-photos";', { database: 'postgres' });
    await seedOlderImmichDatabase(container, 150, { database: 'old-photos' });
    clusterDump = sandbox.path('cluster.sql.gz');
    await execa('bash', [
      '-o',
      'pipefail',
      '-c',
      'docker exec "$1" pg_dumpall --username=postgres | gzip > "$2"',
      'dump',
      container,
      clusterDump,
    ]);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test("a pg_dump of an older Immich's database (assets, users): its assets, no checksumAlgorithm", async () => {
    const dumpFile = sandbox.path('old.sql.gz');
    await execa('bash', [
      '-o',
      'pipefail',
      '-c',
      'docker exec "$1" pg_dump --username=postgres --dbname=old-photos | gzip > "$2"',
      'dump',
      container,
      dumpFile,
    ]);
    const found = await catalogue(dumpFile, 'whatever: ignored in a pg_dump');
    assert.equal(found.summary.assetTable, 'public.assets');
    assert.equal(found.assets.length, 150);
    assert.deepEqual(found.assets, await databaseAssets(container, 'old-photos', true));
    // The older seed's checksums are SHA-256s: 32 bytes are no SHA-1, so none can be checked.
    assert.ok(found.assets.every((asset) => asset.checksum === null && asset.algorithm === null));
  });

  test("a pg_dumpall cluster dump: each database's own assets, by the name of its \\connect line", async () => {
    const current = await catalogue(clusterDump, 'immich');
    assert.equal(current.summary.assetTable, 'public.asset');
    assert.deepEqual(current.assets, await databaseAssets(container, 'immich'));
    assert.deepEqual(current.referenced, await databaseReferenced(container));
    const older = await catalogue(clusterDump, 'old-photos');
    assert.equal(older.summary.assetTable, 'public.assets');
    assert.deepEqual(older.assets, await databaseAssets(container, 'old-photos', true));
    await assert.rejects(
      catalogue(clusterDump, 'postgres'),
      /no asset table in the database postgres/,
    );
  });
});

/** A pg_dump-like gzip of `count` asset rows and a tenth as many 512-float embeddings. */
async function syntheticDump(file: string, count: number): Promise<void> {
  const embedding = `[${Array.from({ length: 512 }, (_, index) => Math.sin(index).toFixed(7)).join(',')}]`;
  function* lines(): Generator<string> {
    yield 'COPY public.asset (id, "originalPath", checksum, "checksumAlgorithm", "isExternal", "deletedAt") FROM stdin;\n';
    let rows = '';
    for (let index = 0; index < count; index += 1) {
      const sha1 = createHash('sha1').update(String(index)).digest('hex');
      rows += `${seedAssetId(index)}\t/data/library/admin/2024/IMG "${index}" ü 📷.jpg\t\\\\x${sha1}\tsha1\tf\t\\N\n`;
      if (rows.length > 1 << 20) {
        yield rows;
        rows = '';
      }
    }
    yield `${rows}\\.\nCOPY public.smart_search ("assetId", embedding) FROM stdin;\n`;
    rows = '';
    for (let index = 0; index < count / 10; index += 1) {
      rows += `${seedAssetId(index)}\t${embedding}\n`;
      if (rows.length > 1 << 20) {
        yield rows;
        rows = '';
      }
    }
    yield `${rows}\\.\n`;
  }
  await pipeline(Readable.from(lines()), createGzip({ level: 1 }), createWriteStream(file));
}

describe('a big dump is read whole (its memory bound is asserted in test/unit/verify/dump-memory.test.ts)', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await createSandbox();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('100,000 assets and 10,000 embeddings: every asset; time and peak memory printed, not asserted', async (t) => {
    const file = sandbox.path('big.sql.gz');
    await syntheticDump(file, 100_000);
    const started = process.hrtime.bigint();
    let withSha1 = 0;
    const summary = await readDumpCatalogue(file, {
      database: 'immich',
      onAsset: (asset) => void (hasContentChecksum(asset) && (withSha1 += 1)),
    });
    const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(summary.assets, 100_000);
    assert.equal(withSha1, 100_000);
    // Figures only, no timed assertion: this machine's speed is not the code's.
    t.diagnostic(
      `read 100,000 assets in ${Math.round(milliseconds)} ms; peak RSS of the test process ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    );
  });
});
