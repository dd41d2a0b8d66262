/**
 * What the agent must know about the filesystems backup drives carry: which keep owners and
 * permissions, how each is mounted so that only root can read it, which drivers can stand in
 * when the kernel has none, and which names and sizes each refuses.
 */

/** Filesystems that keep owners, permissions, symlinks and hard links. */
const posixFilesystems = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'f2fs',
  'zfs',
  'jfs',
  'reiserfs',
  'nilfs2',
  'tmpfs',
]);

/** True for ext4, xfs, btrfs and their kind; false for vfat, exFAT, NTFS and anything unknown. */
export function keepsPermissions(filesystemType: string): boolean {
  return posixFilesystems.has(filesystemType);
}

/**
 * Flags of the mount itself (not of the filesystem) the drive always gets: it holds data only,
 * nothing on it should run as root (nosuid, nodev, noexec), and no symlink on it is followed by
 * anyone (nosymfollow, Linux 5.10): one planted on the drive cannot lead root's writes, or a
 * rename raced between the agent's proof and its write, off the drive.
 */
export const perMountFlags: readonly string[] = ['nosymfollow', 'nosuid', 'nodev', 'noexec'];

/**
 * Mount options for the drive: the flags above. A filesystem without permissions shows every file with the mode its
 * mount gives: by default 0777 for everyone (ntfs-3g, exfat-fuse), so the dump and `.env` with
 * the database password would be readable and writable by every local user. uid=0,gid=0,umask=077
 * is what the kernel's vfat, exfat and ntfs3 and the FUSE drivers all understand.
 */
export function mountOptions(filesystemType: string): string[] {
  const base = [...perMountFlags];
  return keepsPermissions(filesystemType) ? base : [...base, 'uid=0', 'gid=0', 'umask=077'];
}

/** One way to mount a filesystem type: mount(8)'s `-t`, or a FUSE program run directly. */
export type MountDriver = { kind: 'mount'; type: string } | { kind: 'fusefat' };

/**
 * The drivers to try, in order: the kernel's first (blkid's type; mount(8) also finds a helper
 * such as /sbin/mount.ntfs), then FUSE drivers for the machines whose kernel lacks one. exFAT
 * through exfat-fuse (`mount -t exfat-fuse`, Debian's package name); vfat through fusefat, which
 * cannot go through mount(8) (mount adds `rw`, which fusefat refuses), so it is run directly.
 */
export function mountDrivers(filesystemType: string): MountDriver[] {
  switch (filesystemType) {
    case 'exfat':
      return [
        { kind: 'mount', type: 'exfat' },
        { kind: 'mount', type: 'exfat-fuse' },
      ];
    case 'ntfs':
      // ntfs3 (the kernel's, read-write) before `ntfs`: without ntfs-3g's mount.ntfs helper,
      // `-t ntfs` reaches the kernel's old driver or ntfs3's alias for it, both read-only.
      return [
        { kind: 'mount', type: 'ntfs3' },
        { kind: 'mount', type: 'ntfs-3g' },
        { kind: 'mount', type: 'ntfs' },
      ];
    case 'vfat':
      return [{ kind: 'mount', type: 'vfat' }, { kind: 'fusefat' }];
    case 'unknown':
      return [{ kind: 'mount', type: 'auto' }];
    default:
      return [{ kind: 'mount', type: filesystemType }];
  }
}

/** What to install when no driver for the type is there (Debian and Ubuntu package names). */
export function driverHint(filesystemType: string): string {
  const packages: Record<string, string> = {
    exfat: 'a kernel with exFAT support, or the exfat-fuse package',
    ntfs: 'the ntfs-3g package (or a kernel with ntfs3)',
    vfat: 'the kernel module vfat (linux-modules-extra on some systems)',
    btrfs: 'the kernel module btrfs (and btrfs-progs)',
    xfs: 'the kernel module xfs (and xfsprogs)',
  };
  return `This machine cannot mount ${filesystemType}: install ${packages[filesystemType] ?? `a driver for ${filesystemType}`}, then plug the drive in again. Nothing was written.`;
}

/**
 * FUSE drivers known to lose a file's modification time when it is renamed into place (as rsync
 * does with every file it writes): fusefat sets it to now. Without a second pass that puts the
 * times back, every run would copy everything again, and version it.
 */
export function losesTimesOnRename(mountType: string): boolean {
  return mountType === 'fuse.fusefat';
}

/** FAT32 cannot hold a file of 4 GiB or more; rsync aborts the whole copy on one (exit 11). */
export function largestFile(filesystemType: string): number | null {
  return filesystemType === 'vfat' || filesystemType === 'msdos' ? 4 * 1024 ** 3 - 1 : null;
}

/**
 * Characters Windows filesystems refuse in a name (FAT, exFAT; NTFS under its Windows rules):
 * `" * / : < > ? \ |` and the control characters; and a name may not end in a dot or a space
 * (some drivers take those, the kernel's strip them).
 */
const refusedCharacters = new Set('"*:<>?\\|');
const refusesCharacter = (name: string): boolean =>
  [...name].some((character) => {
    const code = character.codePointAt(0) ?? 0;
    return refusedCharacters.has(character) || code < 0x20 || code === 0x7f;
  });

/**
 * Why a file cannot be stored on a filesystem of this type (a path component's name, or its
 * size), or null when it can, as far as the type alone tells: vfat and exFAT. The POSIX ones
 * take any name a library can hold, and NTFS's drivers take these (ntfs-3g and ntfs3 store
 * names in NTFS's POSIX namespace); what a driver refuses beyond this, rsync's errors tell.
 */
export function whyNotStorable(
  relativePath: string,
  filesystemType: string,
  bytes?: number,
): string | null {
  if (keepsPermissions(filesystemType) || filesystemType === 'ntfs') return null;
  for (const name of relativePath.split('/')) {
    if (name === '') continue;
    if (refusesCharacter(name)) return `"${name}" has a character ${filesystemType} refuses`;
    if (/[. ]$/.test(name)) return `"${name}" ends in a dot or a space`;
  }
  const limit = largestFile(filesystemType);
  if (limit !== null && bytes !== undefined && bytes > limit)
    return `${filesystemType} cannot hold a file of 4 GiB or more`;
  return null;
}
