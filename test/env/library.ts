import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * An Immich library (UPLOAD_LOCATION) with the names that break scripts: spaces, quotes,
 * `$(...)`, a newline, emoji and accents, very deep folders, an empty file, and Immich's hidden
 * `.immich` marker in each top folder (Immich refuses to start without them after a restore).
 */
export async function createLibrary(dir: string, options: { photos?: number } = {}): Promise<void> {
  const topFolders = ['library', 'upload', 'thumbs', 'encoded-video', 'profile', 'backups'];
  for (const folder of topFolders) {
    await mkdir(path.join(dir, folder), { recursive: true });
    await writeFile(path.join(dir, folder, '.immich'), '');
  }
  const user = '3f1c9a7e-1111-4222-8333-444455556666';
  const files: Record<string, Buffer> = {
    [`library/admin/2024/2024-06-01/Photo "quoted" 'single'.jpg`]: randomBytes(20_000),
    ['library/admin/2024/$(touch PWNED) `id`.jpg']: randomBytes(3_000),
    ['library/admin/2024/Ünïcödé 📷 Ferien am Meer.heic']: randomBytes(50_000),
    ['library/admin/2024/line\nbreak.jpg']: randomBytes(1_000),
    ['library/admin/2024/empty.jpg']: Buffer.alloc(0),
    [`upload/${user}/ab/cd/IMG 0001.JPG`]: randomBytes(120_000),
    [`thumbs/${user}/ab/cd/thumb.webp`]: randomBytes(4_000),
    [`profile/${user}/avatar.png`]: randomBytes(2_000),
    [`${'deep/'.repeat(15)}bottom.txt`]: Buffer.from('the bottom of a deep folder\n'),
  };
  for (let index = 0; index < (options.photos ?? 40); index += 1) {
    files[`upload/${user}/${String(index % 7).padStart(2, '0')}/IMG_${index}.jpg`] = randomBytes(
      2_000 + index * 100,
    );
  }
  for (const [relative, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), content);
  }
}

/** Relative path → sha256 of every file under `dir` (hidden ones included). */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile())
        result.set(
          path.relative(dir, full),
          createHash('sha256')
            .update(await readFile(full))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return result;
}
