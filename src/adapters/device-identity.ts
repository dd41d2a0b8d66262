import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { driveIdentity } from './sysfs-usb.js';

/**
 * What tells one physical drive from another carrying the same filesystem UUID (a byte-for-byte
 * clone, a user-made loop device): the hardware's serial or WWN and model, the size of the block
 * device, and for a loop device the file behind it (path and inode: a clone on another loop
 * device has another file). Read from sysfs only; a field the hardware does not report is null.
 */
export interface HardwareIdentity {
  kind: 'usb' | 'loop' | 'disk';
  serial: string | null;
  wwn: string | null;
  model: string | null;
  /** Size of the block device holding the filesystem (the partition), in bytes. */
  sizeBytes: number | null;
  /** A loop device's backing file and its `device:inode`. */
  backingFile: string | null;
  backingInode: string | null;
}

async function text(file: string): Promise<string | null> {
  try {
    const value = (await readFile(file, 'utf8')).trim();
    return value === '' ? null : value;
  } catch {
    return null;
  }
}

/** The identity of the hardware behind a block device (/dev/sdb1, /dev/loop3). */
export async function hardwareIdentity(
  device: string,
  sysRoot = '/sys',
): Promise<HardwareIdentity> {
  const name = path.basename(device);
  const block = path.join(sysRoot, 'class', 'block', name);
  const sectors = Number(await text(path.join(block, 'size')));
  const sizeBytes = Number.isFinite(sectors) && sectors > 0 ? sectors * 512 : null;
  // A partition's disk is its parent folder in sysfs; serials and WWNs belong to the disk.
  const resolved = await realpath(block).catch(() => block);
  const disk = (await text(path.join(resolved, 'partition'))) ? path.dirname(resolved) : resolved;
  const backing = await text(path.join(disk, 'loop', 'backing_file'));
  if (path.basename(disk).startsWith('loop')) {
    return {
      ...(await loopBacking(backing)),
      kind: 'loop',
      serial: null,
      wwn: null,
      model: null,
      sizeBytes,
    };
  }
  const usb = await driveIdentity(device, sysRoot);
  const wwn =
    (await text(path.join(disk, 'wwid'))) ?? (await text(path.join(disk, 'device', 'wwid')));
  return {
    kind: usb.usb ? 'usb' : 'disk',
    serial: usb.serial ?? (await text(path.join(disk, 'device', 'serial'))),
    wwn,
    model: usb.model ?? (await text(path.join(disk, 'device', 'model'))),
    sizeBytes,
    backingFile: null,
    backingInode: null,
  };
}

/**
 * The file behind a loop device and its inode. A deleted one (" (deleted)" in its name) has no
 * inode to compare, nor has one the agent cannot see (sysfs names it as the host sees it; the
 * agent may run in a container or a unit with another view of the file system): the name is
 * then all that is compared, and a pin made with an inode refuses a device without one.
 */
async function loopBacking(
  backing: string | null,
): Promise<{ backingFile: string | null; backingInode: string | null }> {
  if (backing === null || backing.endsWith(' (deleted)')) {
    return { backingFile: backing, backingInode: null };
  }
  const info = await stat(backing, { bigint: true }).catch(() => null);
  return { backingFile: backing, backingInode: info ? `${info.dev}:${info.ino}` : null };
}

/** The differences between a pinned identity and the one attached now, as a person reads them. */
export function identityDifferences(
  pinned: HardwareIdentity,
  attached: HardwareIdentity,
): string[] {
  const labels: Record<keyof HardwareIdentity, string> = {
    kind: 'kind of device',
    serial: 'serial number',
    wwn: 'WWN',
    model: 'model',
    sizeBytes: 'size',
    backingFile: 'backing file',
    backingInode: 'backing file’s inode',
  };
  const differences: string[] = [];
  for (const key of Object.keys(labels) as (keyof HardwareIdentity)[]) {
    if (pinned[key] !== attached[key]) {
      differences.push(
        `${labels[key]} ${String(attached[key] ?? 'unknown')} instead of ${String(pinned[key] ?? 'unknown')}`,
      );
    }
  }
  return differences;
}

/** One line naming the hardware: "USB, Samsung T7, serial S5…, 1.0 TB" */
export function describeIdentity(identity: HardwareIdentity): string {
  const parts: string[] = [
    identity.kind === 'loop' ? 'loop device' : identity.kind === 'usb' ? 'USB drive' : 'disk',
  ];
  if (identity.model) parts.push(identity.model);
  if (identity.serial) parts.push(`serial ${identity.serial}`);
  if (identity.wwn) parts.push(`WWN ${identity.wwn}`);
  if (identity.backingFile)
    parts.push(`file ${identity.backingFile} (inode ${identity.backingInode ?? 'unknown'})`);
  if (identity.sizeBytes !== null) parts.push(`${identity.sizeBytes} bytes`);
  return parts.join(', ');
}
