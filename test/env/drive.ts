import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { readMountinfo } from '../../src/adapters/mountinfo.js';
import { deviceNumbers } from '../../src/adapters/block-devices.js';
import type { Sandbox } from './sandbox.js';

export interface LoopDrive {
  device: string;
  uuid: string;
  image: string;
  /** Mounts it somewhere (a desktop automount, a foreign filesystem at the mount point). */
  mountAt(folder: string): Promise<void>;
  /** Unmounts every mount of this device (whoever made it). */
  unmountAll(): Promise<void>;
  /** Detaches the loop device: the drive is unplugged. */
  detach(): Promise<void>;
  /** Plugs it in again (a new loop device on the same image). */
  reattach(): Promise<void>;
}

/** The filesystems bought drives carry, and the ones Linux users choose. */
export type DriveFilesystem = 'ext4' | 'xfs' | 'btrfs' | 'exfat' | 'ntfs' | 'vfat';
export const driveFilesystems: readonly DriveFilesystem[] = [
  'ext4',
  'xfs',
  'btrfs',
  'exfat',
  'ntfs',
  'vfat',
];

/** The smallest image each mkfs takes (xfs wants 300 MB; the image is sparse, so it costs little). */
const minimumMb: Record<DriveFilesystem, number> = {
  ext4: 8,
  xfs: 300,
  btrfs: 128,
  exfat: 8,
  ntfs: 8,
  vfat: 40,
};

/**
 * A real block device with a real filesystem: an image file on a loop device, with the UUID
 * given (random by default, in the form blkid prints for that filesystem: a UUID, an exFAT or
 * vfat serial XXXX-XXXX, an NTFS serial of 16 hex digits). Cleanup unmounts what is still
 * mounted from it, detaches it and removes the image, on every path.
 */
export async function createLoopDrive(
  sandbox: Sandbox,
  options: { uuid?: string; sizeMb?: number; fsType?: DriveFilesystem; label?: string } = {},
): Promise<LoopDrive> {
  const fsType = options.fsType ?? 'ext4';
  const uuid = options.uuid ?? randomSerial(fsType);
  const image = sandbox.path(`drive-${uuid}.img`);
  await execa('truncate', ['-s', `${Math.max(options.sizeMb ?? 64, minimumMb[fsType])}M`, image]);
  await makeFilesystem(fsType, image, uuid, options.label);
  let device = (await execa('losetup', ['--find', '--show', image])).stdout.trim();
  let attached = true;
  const unmountAll = async (): Promise<void> => {
    const numbers = await deviceNumbers(device);
    if (!numbers) return;
    // A FUSE driver's mount (fusefat) has a device number of its own: its source names it.
    const mounts = (await readMountinfo()).filter(
      (entry) =>
        (entry.major === numbers.major && entry.minor === numbers.minor) || entry.source === device,
    );
    for (const entry of mounts.reverse()) await execa('umount', ['--', entry.mountPoint]);
  };
  const detach = async (): Promise<void> => {
    if (!attached) return;
    await unmountAll();
    // A filesystem unmounted lazily keeps the device busy until its last user lets go.
    for (let attempt = 0; ; attempt += 1) {
      const result = await execa('losetup', ['--detach', device], { reject: false });
      if (result.exitCode === 0) break;
      if (attempt >= 40) throw new Error(`losetup --detach ${device}: ${result.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    attached = false;
  };
  sandbox.defer(`detach ${device}`, detach);
  return {
    get device() {
      return device;
    },
    uuid,
    image,
    async reattach() {
      if (attached) return;
      device = (await execa('losetup', ['--find', '--show', image])).stdout.trim();
      attached = true;
    },
    async mountAt(folder) {
      await execa('mkdir', ['-p', '--', folder]);
      await mountWithDriver(fsType, device, folder);
    },
    unmountAll,
    detach,
  };
}

/**
 * Mounts the way a desktop or a person would, with the driver this machine has (its kernel has
 * no vfat, exfat or ntfs driver: FUSE stands in), and no options beyond the driver's defaults.
 */
async function mountWithDriver(
  fsType: DriveFilesystem,
  device: string,
  folder: string,
): Promise<void> {
  if (fsType === 'vfat') {
    // fusefat cannot go through mount(8), which adds "rw"; it exits 0 even when it failed.
    await execa('fusefat', ['-o', `rw+,fsname=${device},subtype=fusefat`, device, folder]);
    return;
  }
  await execa('mount', [...(fsType === 'exfat' ? ['-t', 'exfat-fuse'] : []), '--', device, folder]);
}

async function makeFilesystem(
  fsType: DriveFilesystem,
  image: string,
  uuid: string,
  label: string | undefined,
): Promise<void> {
  const serial = uuid.replace(/-/g, '');
  switch (fsType) {
    case 'ext4':
      // Inode tables and journal written now: with lazy init, the kernel's ext4lazyinit thread
      // writes them in the background after the first mount and competes with what a test or
      // a benchmark measures.
      await execa('mkfs.ext4', [
        '-q',
        '-F',
        '-E',
        'lazy_itable_init=0,lazy_journal_init=0',
        '-U',
        uuid,
        ...(label ? ['-L', label] : []),
        image,
      ]);
      return;
    case 'xfs':
      await execa('mkfs.xfs', [
        '-q',
        '-f',
        '-m',
        `uuid=${uuid}`,
        ...(label ? ['-L', label] : []),
        image,
      ]);
      return;
    case 'btrfs':
      await execa('mkfs.btrfs', ['-q', '-f', '-U', uuid, ...(label ? ['-L', label] : []), image]);
      return;
    case 'exfat':
      // mkfs.exfat cannot set the serial; tune.exfat can (hex, with its 0x).
      await execa('mkfs.exfat', [...(label ? ['-L', label] : []), image]);
      await execa('tune.exfat', ['-I', `0x${serial}`, image]);
      return;
    case 'ntfs':
      await execa('mkntfs', ['-Q', '-F', ...(label ? ['-L', label] : []), image]);
      await execa('ntfslabel', [`--new-serial=${serial}`, image]);
      return;
    case 'vfat':
      await execa('mkfs.vfat', ['-F', '32', '-i', serial, ...(label ? ['-n', label] : []), image]);
      return;
  }
}

/** A random identity in the form blkid prints for the filesystem. */
function randomSerial(fsType: DriveFilesystem): string {
  const hex = randomUUID().replace(/-/g, '').toUpperCase();
  if (fsType === 'ntfs') return hex.slice(0, 16);
  if (fsType === 'exfat' || fsType === 'vfat') return `${hex.slice(0, 4)}-${hex.slice(4, 8)}`;
  return randomUUID();
}
