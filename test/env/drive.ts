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

/**
 * A real block device with a real filesystem: an image file on a loop device, with the UUID
 * given (random by default; tests use random ones and the seed's). Cleanup unmounts what is
 * still mounted from it, detaches it and removes the image, on every path.
 */
export async function createLoopDrive(
  sandbox: Sandbox,
  options: { uuid?: string; sizeMb?: number; fsType?: 'ext4' | 'vfat'; label?: string } = {},
): Promise<LoopDrive> {
  const fsType = options.fsType ?? 'ext4';
  const uuid = options.uuid ?? (fsType === 'vfat' ? randomVfatSerial() : randomUUID());
  const image = sandbox.path(`drive-${uuid}.img`);
  await execa('truncate', ['-s', `${options.sizeMb ?? 64}M`, image]);
  if (fsType === 'ext4') {
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
      ...(options.label ? ['-L', options.label] : []),
      image,
    ]);
  } else {
    await execa('mkfs.vfat', [
      '-i',
      uuid.replace('-', ''),
      ...(options.label ? ['-n', options.label] : []),
      image,
    ]);
  }
  let device = (await execa('losetup', ['--find', '--show', image])).stdout.trim();
  let attached = true;
  const unmountAll = async (): Promise<void> => {
    const numbers = await deviceNumbers(device);
    if (!numbers) return;
    const mounts = (await readMountinfo()).filter(
      (entry) => entry.major === numbers.major && entry.minor === numbers.minor,
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
      await execa('mount', ['--', device, folder]);
    },
    unmountAll,
    detach,
  };
}

function randomVfatSerial(): string {
  const hex = randomUUID().replace(/-/g, '').slice(0, 8).toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
