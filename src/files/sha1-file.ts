import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/**
 * The SHA-1 (lowercase hex) and length of an open file, read from its start into `buffer` (one
 * buffer per reader, reused file after file: nothing grows with the file). `stop` is asked
 * before each read; when it says so the read ends and null is returned. A read error is thrown.
 */
export async function sha1OfOpenFile(
  file: FileHandle,
  buffer: Buffer,
  stop: () => boolean,
): Promise<{ sha1: string; bytes: number } | null> {
  const hash = createHash('sha1');
  let bytes = 0;
  for (;;) {
    if (stop()) return null;
    const { bytesRead } = await file.read(buffer, 0, buffer.length, bytes);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    bytes += bytesRead;
  }
  return { sha1: hash.digest('hex'), bytes };
}
