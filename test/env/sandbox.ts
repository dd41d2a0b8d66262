import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { ownerLabel } from './containers.js';
import { processStart } from '../../src/session/lock.js';

/** Everything the tests create lives under here, in one folder per sandbox (see reap.ts). */
export const testBedRoot = '/tmp/iba-test';

/** Where tests put udev rules (named …iba-test-<sandbox id>…, so reap.ts can find them). */
export const udevRulesDir = '/run/udev/rules.d';

/**
 * A name with what real paths hold and scripts get wrong: spaces, both quotes, a command
 * substitution that must never run, and non-ASCII (accents and an emoji).
 */
export const awkwardName = `Data Main1 'q' "dq" $(touch PWNED) ü 📷`;

export interface Sandbox {
  /** The sandbox's own folder; its name starts with the owner's pid (for reap.ts). */
  dir: string;
  /** Used as the owner label on containers, so a later run can remove what a killed one left. */
  id: string;
  path(...parts: string[]): string;
  /** Registers a cleanup; they run last-in-first-out in dispose(), all of them, even on errors. */
  defer(label: string, cleanup: () => Promise<void>): void;
  dispose(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const dir = path.join(testBedRoot, id);
  await mkdir(dir, { recursive: true });
  // The owner's start time tells reap.ts a live owner from a reused pid.
  await writeFile(
    path.join(dir, '.owner'),
    JSON.stringify({ pid: process.pid, start: await processStart(process.pid) }),
  );
  const cleanups: { label: string; cleanup: () => Promise<void> }[] = [];
  return {
    dir,
    id,
    path: (...parts) => path.join(dir, ...parts),
    defer(label, cleanup) {
      cleanups.push({ label, cleanup });
    },
    async dispose() {
      const failures: string[] = [];
      while (cleanups.length > 0) {
        const entry = cleanups.pop();
        if (!entry) break;
        try {
          await entry.cleanup();
        } catch (error) {
          failures.push(`${entry.label}: ${(error as Error).message}`);
        }
      }
      await rm(dir, { recursive: true, force: true }).catch((error: Error) =>
        failures.push(`remove ${dir}: ${error.message}`),
      );
      // A loop device detached while udev still probes it lingers a moment (auto-clear):
      // only what is still there after a few seconds is left behind.
      let left = await leftovers(id, dir);
      for (let attempt = 0; left.length > 0 && attempt < 20; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = await leftovers(id, dir);
      }
      failures.push(...left);
      if (failures.length > 0) throw new Error(`Sandbox cleanup failed:\n${failures.join('\n')}`);
    },
  };
}

/**
 * What a sandbox would have left behind after its cleanups: a container with its owner label, a
 * loop device backed by a file in its folder, a mount under its folder or named after it. A test
 * whose sandbox leaves any of these fails.
 */
async function leftovers(id: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  const containers = await execa(
    'docker',
    ['ps', '--all', '--quiet', '--filter', `label=${ownerLabel}=${id}`],
    { reject: false },
  );
  if (containers.exitCode === 0 && containers.stdout.trim())
    found.push(`left containers: ${containers.stdout.trim().split('\n').join(', ')}`);
  const loops = await execa('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], {
    reject: false,
  });
  for (const line of loops.stdout.split('\n'))
    if (line.includes(dir)) found.push(`left loop device: ${line.trim()}`);
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const mountPoint = line.split(' ')[4] ?? '';
    if (mountPoint.startsWith(dir) || mountPoint.includes(id))
      found.push(`left mount: ${mountPoint}`);
  }
  return found;
}
