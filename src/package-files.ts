import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The package's own files the agent reads while it runs: package.json (its version), the udev
// rule and systemd units that install renders, the man page. This module is the one place that
// reads them, from the package's root (dist/src/ is two folders down); the bundled agent
// (scripts/bundle.ts) replaces it with one that holds them (and no packageRoot: there is none),
// so the bundle needs no file beside it.
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The version in package.json. */
export const packageVersion: string = (
  JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * The agent as one file that needs only Node (`npm run build` makes it, scripts/bundle.ts): the
 * restore kit carries it. Here the package's copy; in the bundle, the running file itself.
 */
export const bundledAgent: { running: boolean; file: string } = {
  running: false,
  file: path.join(packageRoot, 'dist/bundle/immich-backup-agent.mjs'),
};

/** A shipped file by its path in the package (`udev/…`, `systemd/…`, `man/…`). */
export async function readPackageFile(relativePath: string): Promise<string> {
  return readFile(path.join(packageRoot, relativePath), 'utf8');
}
