import { Transform, type TransformCallback } from 'node:stream';

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian payload length) into stdout, which it passes on, and stderr, whose tail it keeps
 * for error messages. A Transform inside `stream.pipeline`, so a slow drive slows the reader
 * instead of buffering the dump in memory (dockerode's `demuxStream` writes without waiting and
 * was measured at +577 MB RSS on a 261 MB dump). Payloads are passed on as views, not copies.
 */
export class DockerDemux extends Transform {
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  private frameType = 0;
  private frameRemaining = 0;
  private stderrChunks: Buffer[] = [];
  private stderrBytes = 0;

  constructor(private readonly stderrLimit = 64 * 1024) {
    super();
  }

  /** The last `stderrLimit` bytes the command wrote to stderr. */
  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frameRemaining === 0) {
        const take = Math.min(8 - this.headerBytes, chunk.length - offset);
        chunk.copy(this.header, this.headerBytes, offset, offset + take);
        this.headerBytes += take;
        offset += take;
        if (this.headerBytes < 8) break;
        this.frameType = this.header[0] ?? 0;
        this.frameRemaining = this.header.readUInt32BE(4);
        this.headerBytes = 0;
        continue;
      }
      const take = Math.min(this.frameRemaining, chunk.length - offset);
      const payload = chunk.subarray(offset, offset + take);
      if (this.frameType === 1) this.push(payload);
      else if (this.frameType === 2) this.keepStderr(payload);
      this.frameRemaining -= take;
      offset += take;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.frameRemaining > 0 || this.headerBytes > 0) {
      callback(new Error('The Docker stream ended in the middle of a frame.'));
      return;
    }
    callback();
  }

  private keepStderr(payload: Buffer): void {
    this.stderrChunks.push(Buffer.from(payload.subarray(-this.stderrLimit)));
    this.stderrBytes += Math.min(payload.length, this.stderrLimit);
    while (this.stderrBytes > this.stderrLimit) {
      const first = this.stderrChunks[0] as Buffer;
      const excess = this.stderrBytes - this.stderrLimit;
      if (first.length <= excess) {
        this.stderrChunks.shift();
        this.stderrBytes -= first.length;
      } else {
        this.stderrChunks[0] = first.subarray(excess);
        this.stderrBytes -= excess;
      }
    }
  }
}
