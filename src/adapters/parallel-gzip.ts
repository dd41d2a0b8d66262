import { Transform, type TransformCallback } from 'node:stream';
import { constants, crc32, deflateRaw } from 'node:zlib';

export interface ParallelGzipOptions {
  /** zlib's level; default 6, gzip's own default. */
  level?: number;
  /** Plain bytes compressed per job. */
  blockBytes?: number;
  /** Jobs compressing at once, on libuv's thread pool. */
  jobs?: number;
  /** Sees every block of plain bytes, in order, before it is compressed (the dump check). */
  observe?: (plain: Buffer) => void;
}

/** deflate reaches back at most 32 KiB: the previous block's last 32 KiB prime the next one. */
const window = 32 * 1024;

/**
 * gzip, one member, compressed by several threads at once, as pigz does: the plain stream is cut
 * into blocks, each deflated on its own (primed with the end of the block before, so the ratio
 * stays gzip's) and ended with a sync flush (byte-aligned, not final), and the pieces are joined
 * in order between gzip's header and its trailer (CRC-32 and length of the plain bytes). Any
 * gunzip reads the result as one ordinary stream. Node's createGzip compresses on one thread at a
 * time, 16 KiB per round trip: with pg_dump and the database on the same two cores, the
 * compressor was the dump's critical path.
 *
 * Backpressure: at most `jobs` blocks are in flight, and the Transform holds its writable side
 * while its readable side is full, so a slow drive slows the reader.
 */
export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockBytes: number;
  private readonly jobs: number;
  private readonly observe: ((plain: Buffer) => void) | undefined;
  private block: Buffer;
  private filled = 0;
  private dictionary: Buffer | undefined;
  private crc = 0;
  private plainBytes = 0;
  /** Blocks in flight, in stream order; `output` is set once a block is compressed. */
  private readonly queue: { output?: Buffer }[] = [];
  private waiting: (() => void) | undefined;
  private failed: Error | undefined;

  constructor(options: ParallelGzipOptions = {}) {
    super();
    this.level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
    this.blockBytes = Math.max(window, options.blockBytes ?? 1024 * 1024);
    this.jobs = Math.max(1, options.jobs ?? 3);
    this.observe = options.observe;
    this.block = Buffer.allocUnsafe(this.blockBytes);
    // RFC 1952: magic, deflate, no flags, no time, no extra flags, OS Unix (as zlib writes it).
    this.push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length && !this.destroyed) {
      const take = Math.min(this.blockBytes - this.filled, chunk.length - offset);
      chunk.copy(this.block, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.blockBytes) this.dispatch(false);
    }
    this.whenBelow(this.jobs, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.dispatch(true);
    this.whenBelow(1, (error) => {
      if (error) return callback(error);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.plainBytes % 2 ** 32, 4);
      callback(null, trailer);
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.failed ??= error ?? new Error('The compressor was destroyed.');
    this.wake();
    callback(error);
  }

  /** Starts compressing the filled part of the current block. */
  private dispatch(final: boolean): void {
    const plain = this.block.subarray(0, this.filled);
    try {
      this.observe?.(plain);
    } catch (error) {
      // The observer's failure is the stream's, not an uncaught exception.
      this.filled = 0;
      this.destroy(error as Error);
      return;
    }
    this.crc = crc32(plain, this.crc);
    this.plainBytes += plain.length;
    const entry: { output?: Buffer } = {};
    this.queue.push(entry);
    const options = {
      level: this.level,
      // Room for the whole block's output: one pass on the thread pool, no round trips.
      chunkSize: this.blockBytes + (this.blockBytes >> 3) + 1024,
      finishFlush: final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(this.dictionary ? { dictionary: this.dictionary } : {}),
    };
    deflateRaw(plain, options, (error, output) => {
      if (error) {
        this.destroy(error);
        return;
      }
      entry.output = output;
      this.pushReady();
    });
    this.dictionary = plain.length >= window ? plain.subarray(-window) : undefined;
    this.block = Buffer.allocUnsafe(this.blockBytes);
    this.filled = 0;
  }

  /** Passes on compressed blocks in stream order, as far as they are done. */
  private pushReady(): void {
    if (this.destroyed) return;
    while (this.queue[0]?.output !== undefined) {
      this.push((this.queue.shift() as { output: Buffer }).output);
    }
    this.wake();
  }

  private whenBelow(limit: number, callback: TransformCallback): void {
    if (this.failed) return callback(this.failed);
    if (this.queue.length < limit) return callback();
    this.waiting = () => this.whenBelow(limit, callback);
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
