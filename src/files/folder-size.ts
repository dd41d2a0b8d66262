import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files and bytes under a folder (0 when it does not exist); no link is followed. With `strict`, a folder that cannot
 * be read throws instead of counting as empty.
 */
export async function folderSize(
  folder: string,
  options: { strict?: boolean } = {},
): Promise<{ files: number; bytes: number }> {
  const total = { files: 0, bytes: 0 };
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (options.strict) throw error;
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        total.files += 1;
        // lstat: a file swapped for a link since readdir is not followed.
        const info = await lstat(full);
        if (info.isFile()) total.bytes += info.size;
      }
    }
  };
  await walk(folder);
  return total;
}
