import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { readDumpCatalogue } from '../../../src/verify/dump-catalogue.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dump-memory-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const mebibyte = 1024 * 1024;
const sqlBytes = 200 * mebibyte;
const assetRows = 200_000;

/**
 * A pg_dump-like gzip of about 200 MB of SQL, streamed to the file (never held): asset rows the
 * reader parses, then 512-float embeddings it only passes over.
 */
async function syntheticDump(file: string): Promise<number> {
  const embedding = `[${Array.from({ length: 512 }, (_, index) => Math.sin(index).toFixed(7)).join(',')}]`;
  let written = 0;
  function* lines(): Generator<string> {
    let rows =
      'COPY public.asset (id, "originalPath", checksum, "checksumAlgorithm", "isExternal", "deletedAt") FROM stdin;\n';
    const flush = function* (): Generator<string> {
      written += Buffer.byteLength(rows);
      yield rows;
      rows = '';
    };
    for (let index = 0; index < assetRows; index += 1) {
      const sha1 = createHash('sha1').update(String(index)).digest('hex');
      rows += `${index}\t/data/library/admin/IMG "${index}" ü 📷.jpg\t\\\\x${sha1}\tsha1\tf\t\\N\n`;
      if (rows.length > mebibyte) yield* flush();
    }
    rows += '\\.\nCOPY public.smart_search ("assetId", embedding) FROM stdin;\n';
    for (let index = 0; written + rows.length < sqlBytes; index += 1) {
      rows += `${index}\t${embedding}\n`;
      if (rows.length > mebibyte) yield* flush();
    }
    rows += '\\.\n';
    yield* flush();
  }
  await pipeline(Readable.from(lines()), createGzip({ level: 1 }), createWriteStream(file));
  return written;
}

test('200 MB of SQL is read while the process grows by far less than the dump', async (t) => {
  const file = path.join(root, 'big.sql.gz');
  const sql = await syntheticDump(file);
  assert.ok(sql >= sqlBytes, `the dump holds ${sql} bytes of SQL`);

  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  // Sampled between chunks (the timer) and while rows are handed over.
  const timer = setInterval(sample, 5);
  let assets = 0;
  try {
    const summary = await readDumpCatalogue(file, {
      database: 'immich',
      onAsset: () => {
        assets += 1;
        if (assets % 1000 === 0) sample();
      },
    });
    assert.equal(summary.assets, assetRows);
  } finally {
    clearInterval(timer);
  }
  sample();
  const growth = peak - before;
  t.diagnostic(
    `${Math.round(sql / mebibyte)} MB of SQL (${Math.round((await stat(file)).size / mebibyte)} MB gzip): RSS grew by ${Math.round(growth / mebibyte)} MB`,
  );
  // Holding the rows, or the SQL, would take more than the dump itself: a generous bound, well
  // under it, that garbage not yet collected stays below.
  assert.ok(growth < 100 * mebibyte, `RSS grew by ${Math.round(growth / mebibyte)} MB`);
});
