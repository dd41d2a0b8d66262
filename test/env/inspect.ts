import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { createDriveAdapter } from '../../src/adapters/drive.js';
import { createProcessGateway } from '../../src/adapters/process.js';
import type { LoopDrive } from './drive.js';
import type { Sandbox } from './sandbox.js';

/**
 * Looks at the drive: where it is mounted already (a run's mount, an automount), or mounted by
 * the agent's own drive adapter (so with the options and the driver a run uses, on every
 * filesystem) in a folder of the test's own, and unmounted again.
 */
export async function withDriveMounted<T>(
  sandbox: Sandbox,
  drive: LoopDrive,
  look: (root: string) => T | Promise<T>,
): Promise<T> {
  const adapter = createDriveAdapter(
    createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] }),
  );
  const filesystem = await adapter.locate(drive.uuid);
  const existing = await adapter.mountsOf(filesystem);
  if (existing[0]) return look(existing[0].mountPoint);
  const folder = sandbox.path(`inspect-${Date.now()}`);
  await execa('mkdir', ['-p', '--', folder]);
  await adapter.mount(filesystem, folder);
  try {
    return await look(folder);
  } finally {
    await adapter.unmount(folder);
  }
}

/** When Docker last started the container: unchanged means the run never touched it. */
export async function containerStartedAt(name: string): Promise<string> {
  return (
    await execa('docker', ['inspect', '--format', '{{.State.StartedAt}}', name])
  ).stdout.trim();
}

/** Every path under `dir` whose name marks an unfinished write. */
export async function partialFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (/\.partial-|^\.rsync-partial$|^\.~tmp~$/.test(entry.name)) found.push(full);
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return found;
}

export async function isMountPoint(folder: string): Promise<boolean> {
  return (await execa('mountpoint', ['-q', '--', folder], { reject: false })).exitCode === 0;
}
