import { readFile } from 'node:fs/promises';

/** One line of /proc/self/mountinfo (see proc(5)). */
export interface MountEntry {
  mountId: number;
  major: number;
  minor: number;
  /** The folder of the filesystem that is mounted here ("/" for the whole filesystem). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    const [major, minor] = (fields[2] ?? '0:0').split(':').map(Number);
    entries.push({
      mountId: Number(fields[0]),
      major: major ?? 0,
      minor: minor ?? 0,
      root: unescapeMountField(fields[3] ?? ''),
      mountPoint: unescapeMountField(fields[4] ?? ''),
      options: (fields[5] ?? '').split(','),
      fsType: fields[separator + 1] ?? '',
      source: unescapeMountField(fields[separator + 2] ?? ''),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return entries;
}

/** The kernel writes space, tab, newline and backslash in paths as octal escapes. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

export function isReadOnly(entry: MountEntry): boolean {
  return entry.options.includes('ro') || entry.superOptions.includes('ro');
}

/** The entry that decides what is at `folder`: the last mount on it wins (mounts stack). */
export function mountAt(entries: readonly MountEntry[], folder: string): MountEntry | undefined {
  return entries.filter((entry) => entry.mountPoint === folder).at(-1);
}

/**
 * The id of the mount an open descriptor is on (`mnt_id:` in /proc/self/fdinfo, see proc(5)):
 * the same number as the first field of that mount's line in /proc/self/mountinfo. It names the
 * mount itself, not its source or its device number, so nothing a mount's maker chooses can
 * imitate it.
 */
export async function mountIdOfDescriptor(fd: number): Promise<number> {
  const text = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^mnt_id:\s*(\d+)$/m.exec(text);
  if (!match) throw new Error(`/proc/self/fdinfo/${fd} has no mnt_id`);
  return Number(match[1]);
}

/** FUSE mounts: their maker names the source (fsname=) and, for `fuse`, the device number. */
export function isFuse(entry: MountEntry): boolean {
  return entry.fsType === 'fuse' || entry.fsType === 'fuseblk' || entry.fsType.startsWith('fuse.');
}
