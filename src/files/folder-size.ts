import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files, folders (below the folder itself) and bytes under a folder (0 when it does not exist);
 * no link is followed. With `strict`, a folder that cannot be read throws instead of counting as
 * empty. With `blockBytes`, each file counts as its size rounded up to whole blocks of that size
 * (what it takes on a filesystem of those blocks).
 */
export async function folderSize(
  folder: string,
  options: { strict?: boolean; blockBytes?: number } = {},
): Promise<{ files: number; folders: number; bytes: number }> {
  const total = { files: 0, folders: 0, bytes: 0 };
  const block = options.blockBytes ?? 1;
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
      if (entry.isDirectory()) {
        total.folders += 1;
        await walk(full);
      } else if (entry.isFile()) {
        total.files += 1;
        // lstat: a file swapped for a link since readdir is not followed.
        const info = await lstat(full);
        if (info.isFile()) total.bytes += Math.ceil(info.size / block) * block;
      }
    }
  };
  await walk(folder);
  return total;
}
