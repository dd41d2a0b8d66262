import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { bundledAgent } from '../package-files.js';

/** The bundled agent as the kit carries it: its bytes, read once from where it was found. */
export interface BundleSource {
  file: string;
  content: Buffer;
}

/** Far above the bundle's few MB, far below what would strain the run's memory. */
const maxBundleBytes = 64 * 1024 * 1024;

/**
 * The agent as one file, for the restore kit: the running file when the agent runs as the bundle,
 * else the one `npm run build` made in the package (dist/bundle/). Null, with why, when there is
 * none (a package built before the bundle was part of the build, a checkout never built): the kit
 * is then written without it. Read without following a link: it is the package's own file.
 */
export async function findBundle(
  where: { file: string } = bundledAgent,
): Promise<BundleSource | { missing: string }> {
  let handle;
  try {
    handle = await open(
      where.file,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      missing: `${where.file} ${code === 'ENOENT' ? 'is not there' : `cannot be opened (${code})`}`,
    };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { missing: `${where.file} is not a regular file` };
    if (info.size > maxBundleBytes)
      return { missing: `${where.file} is larger than ${maxBundleBytes} bytes` };
    return { file: where.file, content: await handle.readFile() };
  } finally {
    await handle.close();
  }
}
