import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** mkdir -p that remembers which folders it made, for uninstall to remove them again. */
export async function makeDirectories(folder: string, created: Set<string>): Promise<void> {
  const missing: string[] = [];
  let current = folder;
  while (!existsSync(current)) {
    missing.unshift(current);
    current = path.dirname(current);
  }
  for (const directory of missing) {
    await mkdir(directory, { mode: 0o755 });
    created.add(directory);
  }
}
