import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import { deviceNumbers, type BlockFilesystem } from './block-devices.js';
import { isFuse, mountIdOfDescriptor, readMountinfo, type MountEntry } from './mountinfo.js';

/**
 * The drive as the agent works on it: its filesystem, and the one mount (by the kernel's mount
 * id) the agent made, or bound privately, and proved to be that filesystem's. Every folder the
 * agent writes, reads or deletes under must be on this very mount.
 */
export interface DriveMount extends BlockFilesystem {
  mountId: number;
}

/**
 * Is this mount, made by someone else (a desktop automount), the drive's whole filesystem? Only
 * by what its maker cannot choose: the device number the kernel gives a block filesystem (also
 * FUSE's fuseblk: exfat-fuse, ntfs-3g, which only root can mount). btrfs and fusefat report an
 * anonymous number: a btrfs mount, or a fusefat one made by root, whose source is the drive's
 * node. A mount's source alone is a name its maker writes (tmpfs, any user's FUSE fsname=): it
 * never counts, nor does a mount of another type than the drive's.
 */
export async function isMountOfDrive(
  entry: MountEntry,
  filesystem: BlockFilesystem,
): Promise<boolean> {
  if (entry.root !== '/') return false;
  if (entry.major === filesystem.major && entry.minor === filesystem.minor) return true;
  if (entry.major !== 0 || !(await sameNode(entry.source, filesystem.device))) return false;
  return (
    (entry.fsType === 'btrfs' && filesystem.fsType === 'btrfs') ||
    (entry.fsType === 'fuse.fusefat' && filesystem.fsType === 'vfat' && madeByRoot(entry))
  );
}

/**
 * A FUSE mount's owner (user_id=): fusermount, the only way for a user other than root to make
 * a FUSE mount, sets it to that user's own id and refuses one given. fusefat (vfat on a kernel without it) is the one
 * FUSE driver whose mount has no device number; only one made by root is taken as the drive's.
 */
function madeByRoot(entry: MountEntry): boolean {
  return entry.superOptions.includes('user_id=0');
}

/**
 * Is this mount, new at the agent's mount point right after the agent mounted the drive there,
 * the one it made? A kernel filesystem must show the drive's device number (btrfs: its node as
 * the source); a FUSE driver (exfat-fuse, ntfs-3g, fusefat) the agent started itself as root
 * (user_id=0): no other user can make a FUSE mount with that owner.
 */
export async function isOwnMountOfDrive(
  entry: MountEntry,
  filesystem: BlockFilesystem,
): Promise<boolean> {
  if (entry.root !== '/') return false;
  if (isFuse(entry)) return madeByRoot(entry);
  return isMountOfDrive(entry, filesystem);
}

/**
 * Proves that the folder `path` is on the drive's mount: opened without following a symlink at
 * its end (O_NOFOLLOW; the drive is mounted nosymfollow, so none inside it is followed either),
 * and the mount the open folder is on (its mount id) is the one the agent proved. Neither the
 * path's name nor a mount's source decides: a tmpfs or a FUSE mount named like the drive, at
 * the mount point or anywhere under it, is another mount.
 */
export async function proveFolderOnMount(path: string, drive: DriveMount): Promise<void> {
  let mountId: number;
  try {
    const folder = await open(
      path,
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
    );
    try {
      mountId = await mountIdOfDescriptor(folder.fd);
    } finally {
      await folder.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR')
      throw mismatch(path, drive, code === 'ELOOP' ? 'a symlink' : 'not a folder');
    throw new AgentError(
      'DRIVE_GONE',
      `${path} cannot be reached any more (${(error as Error).message}).`,
      {
        step: 'drive',
        hint: 'The backup drive was probably unplugged; plug it in and run again.',
        cause: error,
      },
    );
  }
  if (mountId === drive.mountId) return;
  const entry = (await readMountinfo()).find((candidate) => candidate.mountId === mountId);
  throw mismatch(
    path,
    drive,
    entry
      ? `on ${entry.source} (${entry.fsType}, mounted at ${entry.mountPoint})`
      : 'on another mount',
  );
}

function mismatch(path: string, drive: DriveMount, what: string): AgentError {
  return new AgentError(
    'DRIVE_MISMATCH',
    `Refusing to write to ${path}: it is ${what}, not on the backup drive ${drive.device} (UUID ${drive.uuid}) as the agent mounted it.`,
    {
      step: 'drive',
      hint: 'Nothing was written through it. Check drive.mountPoint and drive.backupDir.',
    },
  );
}

async function sameNode(a: string, b: string): Promise<boolean> {
  if (!a.startsWith('/') || !b.startsWith('/')) return false;
  const [left, right] = await Promise.all([deviceNumbers(a), deviceNumbers(b)]);
  return !!left && !!right && left.major === right.major && left.minor === right.minor;
}
