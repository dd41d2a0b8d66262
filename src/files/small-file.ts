import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Reads a small file that someone else may control (a sidecar on the drive): opened without
 * following a symlink and without blocking on a FIFO, and read only when it is a regular file
 * no bigger than `maxBytes`. Anything else is not read: the reason says why.
 */
export async function readSmallRegularFile(
  file: string,
  maxBytes: number,
): Promise<{ text: string } | { absent: string }> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { absent: code === 'ELOOP' ? 'it is a symlink' : `it cannot be opened (${code})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { absent: 'it is not a regular file' };
    if (info.size > maxBytes) return { absent: `it is larger than ${maxBytes} bytes` };
    return { text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}
