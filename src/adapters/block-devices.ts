import { stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import { interpretExit, type ExitCodeTable, type ProcessGateway } from './process.js';

/** A block device holding a filesystem, as blkid probed it. */
export interface BlockFilesystem {
  device: string;
  uuid: string;
  fsType: string;
  label: string | null;
  major: number;
  minor: number;
}

const blkidExits: ExitCodeTable = {
  0: { outcome: 'ok', meaning: 'devices found' },
  2: { outcome: 'ok', meaning: 'no device identified' },
  4: { outcome: 'error', meaning: 'usage error' },
  8: { outcome: 'error', meaning: 'ambivalent probing result' },
};

/**
 * Finds the filesystems with this UUID by probing every block device the kernel lists
 * (`blkid -c /dev/null`: no cache, no udev), so it works where /dev/disk/by-uuid does not
 * exist (no udevd, early boot, containers). UUIDs compare case-insensitively (vfat prints
 * them in capitals).
 */
export async function findFilesystemsByUuid(
  gateway: ProcessGateway,
  uuid: string,
  signal?: AbortSignal,
): Promise<BlockFilesystem[]> {
  const result = await gateway.run({
    tool: 'blkid',
    file: 'blkid',
    args: ['-c', '/dev/null', '-o', 'export'],
    timeoutMs: 60_000,
    signal,
    step: 'drive',
  });
  const meaning = interpretExit(blkidExits, result.exitCode);
  if (meaning.outcome === 'error') {
    throw new AgentError('INTERNAL', `blkid failed (${meaning.meaning}): ${result.stderr.trim()}`, {
      step: 'drive',
    });
  }
  const wanted = uuid.toLowerCase();
  const found: BlockFilesystem[] = [];
  for (const probe of parseBlkidExport(result.stdout)) {
    if ((probe.UUID ?? '').toLowerCase() !== wanted || !probe.DEVNAME) continue;
    const numbers = await deviceNumbers(probe.DEVNAME);
    if (numbers === null) continue;
    found.push({
      device: probe.DEVNAME,
      uuid: probe.UUID ?? uuid,
      fsType: probe.TYPE ?? 'unknown',
      label: probe.LABEL ?? null,
      ...numbers,
    });
  }
  return found;
}

/** `blkid -o export`: KEY=value lines, one blank line between devices, shell escapes. */
export function parseBlkidExport(text: string): Record<string, string>[] {
  const devices: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(current).length > 0) devices.push(current);
      current = {};
      continue;
    }
    const separator = line.indexOf('=');
    if (separator <= 0) continue;
    current[line.slice(0, separator)] = line.slice(separator + 1).replace(/\\(.)/g, '$1');
  }
  if (Object.keys(current).length > 0) devices.push(current);
  return devices;
}

/** Major and minor number of a device node, or of the device a file lives on. */
export async function deviceNumbers(
  path: string,
  which: 'rdev' | 'dev' = 'rdev',
): Promise<{ major: number; minor: number } | null> {
  try {
    const info = await stat(path, { bigint: true });
    return splitDeviceNumber(which === 'rdev' ? info.rdev : info.dev);
  } catch {
    return null;
  }
}

/** Linux dev_t encoding (see makedev(3)). */
export function splitDeviceNumber(device: bigint): { major: number; minor: number } {
  const major = ((device >> 8n) & 0xfffn) | ((device >> 32n) & ~0xfffn);
  const minor = (device & 0xffn) | ((device >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}
