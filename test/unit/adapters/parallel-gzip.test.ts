import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ParallelGzip, type ParallelGzipOptions } from '../../../src/adapters/parallel-gzip.js';

/** Text like a dump's rows: compressible, but not trivially. */
function rows(count: number): Buffer {
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1) {
    lines.push(`${index}\t\\\\x${randomBytes(20).toString('hex')}\t/library/IMG_${index}.jpg\n`);
  }
  return Buffer.from(lines.join(''));
}

/** Feeds `plain` in chunks of `chunkBytes` through a ParallelGzip; its output and what it saw. */
async function compress(plain: Buffer, chunkBytes: number, options: ParallelGzipOptions = {}) {
  const observed: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < plain.length; offset += chunkBytes) {
    chunks.push(plain.subarray(offset, offset + chunkBytes));
  }
  const gzip = new ParallelGzip({
    ...options,
    observe: (block) => observed.push(Buffer.from(block)),
  });
  const output = await buffer(Readable.from(chunks).pipe(gzip));
  return { output, observed: Buffer.concat(observed) };
}

describe('ParallelGzip writes one ordinary gzip stream', () => {
  test('gunzip gives back the same bytes, whatever the chunks and blocks', async () => {
    const plain = rows(20_000);
    for (const [chunkBytes, blockBytes] of [
      [7, 40_000],
      [65_536, 32_768],
      [1_000_000, 100_000],
      [plain.length, 1024 * 1024],
    ] as const) {
      const { output, observed } = await compress(plain, chunkBytes, { blockBytes, jobs: 3 });
      assert.ok(gunzipSync(output).equals(plain), `chunks ${chunkBytes}, blocks ${blockBytes}`);
      assert.ok(observed.equals(plain), 'the observer saw every plain byte, in order');
    }
  });

  test('its trailer holds the CRC-32 and the length of the plain bytes (gunzip checks both)', async () => {
    const plain = rows(3000);
    const { output } = await compress(plain, 1000, { blockBytes: 40_000 });
    assert.equal(output.readUInt32LE(output.length - 4), plain.length);
    const damaged = Buffer.from(output);
    damaged.writeUInt32LE((damaged.readUInt32LE(damaged.length - 8) ^ 1) >>> 0, damaged.length - 8);
    assert.throws(() => gunzipSync(damaged), /incorrect data check/);
  });

  test('a plain stream of exactly whole blocks, and an empty one, are complete gzip streams', async () => {
    const plain = rows(5000).subarray(0, 3 * 40_000);
    assert.ok(
      gunzipSync((await compress(plain, 4096, { blockBytes: 40_000 })).output).equals(plain),
    );
    assert.equal(gunzipSync((await compress(Buffer.alloc(0), 1)).output).length, 0);
  });

  test('the ratio stays gzip’s: each block is primed with the end of the one before', async () => {
    // The same 20 kB again and again: only back references into the previous block find it.
    const plain = Buffer.concat(
      Array.from({ length: 40 }, () => randomBytes(20_000)).fill(randomBytes(20_000)),
    );
    const { output } = await compress(plain, 65_536, { blockBytes: 32_768 });
    assert.ok(output.length < 40_000, `${output.length} bytes for 800 kB of one repeated 20 kB`);
  });
});
