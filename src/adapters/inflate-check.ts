import { once } from 'node:events';
import { createGunzip, type Gunzip } from 'node:zlib';

/**
 * The compressed dump, decompressed again on its way to the drive (zlib's thread, big chunks):
 * proof independent of the compressor that the file is one gzip stream whose bytes are the SQL
 * that was checked (gunzip checks the trailer's CRC-32 and length itself; the count is compared
 * with the SQL's by the caller). Inflating costs a fraction of compressing.
 */
export class InflateCheck {
  private readonly gunzip: Gunzip;
  private inflated = 0;
  private failure: Error | undefined;

  constructor() {
    this.gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    this.gunzip.on('data', (chunk: Buffer) => {
      this.inflated += chunk.length;
    });
    this.gunzip.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  /** Feeds compressed bytes; resolves once zlib can take more. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) return;
    if (!this.gunzip.write(chunk)) {
      await Promise.race([once(this.gunzip, 'drain'), once(this.gunzip, 'close')]).catch(
        () => undefined,
      );
    }
  }

  /** The plain bytes the stream decompressed to; throws what gunzip found wrong. */
  async end(): Promise<number> {
    if (!this.failure) {
      this.gunzip.end();
      await Promise.race([once(this.gunzip, 'end'), once(this.gunzip, 'close')]).catch(
        (error: unknown) => {
          this.failure ??= error as Error;
        },
      );
    }
    if (this.failure) throw this.failure;
    return this.inflated;
  }

  destroy(): void {
    this.gunzip.destroy();
  }
}
