import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { DockerDemux } from '../../../src/adapters/docker-demux.js';

/** One frame of Docker's attach stream: type, three zero bytes, big-endian length, payload. */
function frame(type: 0 | 1 | 2, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Runs the chunks through a demuxer inside stream.pipeline and collects what comes out. */
async function demux(
  chunks: readonly Buffer[],
  stderrLimit?: number,
): Promise<{ stdout: Buffer; stderr: string; demuxer: DockerDemux }> {
  const demuxer = new DockerDemux(stderrLimit);
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(Buffer.from(chunk));
      callback();
    },
  });
  await pipeline(Readable.from(chunks.filter((chunk) => chunk.length > 0)), demuxer, sink);
  return { stdout: Buffer.concat(received), stderr: demuxer.stderr, demuxer };
}

// Frames as `docker exec pg_dump` sends them: stdout and stderr interleaved, one empty frame.
const stream = Buffer.concat([
  frame(1, 'PGDMP header '),
  frame(2, 'pg_dump: warning one\n'),
  frame(1, Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe])),
  frame(1, ''),
  frame(2, 'pg_dump: warning two\n'),
  frame(1, ' and the end'),
]);
const expectedStdout = Buffer.concat([
  Buffer.from('PGDMP header '),
  Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe]),
  Buffer.from(' and the end'),
]);
const expectedStderr = 'pg_dump: warning one\npg_dump: warning two\n';

describe('DockerDemux splits Docker’s multiplexed stream', () => {
  test('stdout frames are passed on byte for byte and stderr frames are kept aside', async () => {
    const result = await demux([stream]);
    assert.deepEqual(result.stdout, expectedStdout);
    assert.equal(result.stderr, expectedStderr);
  });

  test('a split at any single byte boundary, inside a header or a payload, changes nothing', async () => {
    for (let split = 0; split <= stream.length; split += 1) {
      const result = await demux([stream.subarray(0, split), stream.subarray(split)]);
      assert.deepEqual(result.stdout, expectedStdout, `split at byte ${split}`);
      assert.equal(result.stderr, expectedStderr, `split at byte ${split}`);
    }
  });

  test('a split at every pair of byte boundaries changes nothing', async () => {
    for (let first = 1; first < stream.length; first += 1) {
      for (let second = first + 1; second < stream.length; second += 1) {
        const result = await demux([
          stream.subarray(0, first),
          stream.subarray(first, second),
          stream.subarray(second),
        ]);
        assert.deepEqual(result.stdout, expectedStdout, `split at ${first} and ${second}`);
        assert.equal(result.stderr, expectedStderr, `split at ${first} and ${second}`);
      }
    }
  });

  test('a stream delivered one byte at a time is read the same', async () => {
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    const result = await demux(bytes);
    assert.deepEqual(result.stdout, expectedStdout);
    assert.equal(result.stderr, expectedStderr);
  });

  test('frames of the stdin type (0) are not written to the output', async () => {
    const result = await demux([frame(0, 'typed input'), frame(1, 'out')]);
    assert.equal(result.stdout.toString(), 'out');
    assert.equal(result.stderr, '');
  });

  test('a large stdout frame arriving in many chunks is passed on whole', async () => {
    const payload = Buffer.alloc(1024 * 1024, 7);
    payload.write('start', 0);
    payload.write('end', payload.length - 3);
    const whole = frame(1, payload);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < whole.length; offset += 65_537) {
      chunks.push(whole.subarray(offset, offset + 65_537));
    }
    const result = await demux(chunks);
    assert.equal(result.stdout.length, payload.length);
    assert.ok(result.stdout.equals(payload));
  });

  test('an empty stream gives empty stdout and stderr', async () => {
    const result = await demux([]);
    assert.equal(result.stdout.length, 0);
    assert.equal(result.stderr, '');
  });
});

describe('DockerDemux keeps only the tail of stderr', () => {
  test('many small stderr frames keep no more than stderrLimit bytes, ending with the last', async () => {
    const lines = Array.from(
      { length: 50 },
      (_, index) => `line ${String(index).padStart(2, '0')}\n`,
    );
    const result = await demux(
      lines.map((line) => frame(2, line)),
      64,
    );
    assert.ok(result.stderr.length <= 64, `kept ${result.stderr.length} bytes`);
    assert.ok(result.stderr.endsWith('line 48\nline 49\n'));
    assert.ok(!result.stderr.includes('line 00'));
  });

  test('one stderr frame larger than stderrLimit is cut to its last stderrLimit bytes', async () => {
    const big = 'x'.repeat(1000) + 'the important end';
    const result = await demux([frame(2, big)], 64);
    assert.equal(result.stderr, big.slice(-64));
  });
});

describe('DockerDemux refuses a truncated stream', () => {
  const cases: { name: string; chunk: Buffer }[] = [
    { name: 'inside a frame header', chunk: frame(1, 'complete').subarray(0, 5) },
    {
      name: 'inside a payload',
      chunk: Buffer.concat([frame(1, 'complete'), frame(1, 'cut short').subarray(0, 12)]),
    },
    {
      name: 'right after a header whose payload never came',
      chunk: frame(2, 'never sent').subarray(0, 8),
    },
  ];
  for (const { name, chunk } of cases) {
    test(`a stream that ends ${name} makes the pipeline fail`, async () => {
      await assert.rejects(demux([chunk]), /ended in the middle of a frame/);
    });
  }
});
