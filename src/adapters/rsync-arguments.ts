import { keepsPermissions, largestFile } from './filesystem-types.js';
import type { SyncProgress } from './rsync-output.js';

export interface SyncRequest {
  source: string;
  destination: string;
  /** The destination filesystem's type (blkid's), which decides what can be kept. */
  filesystemType: string;
  /**
   * The source's filesystem type, when it matters: a restore from a drive without permissions
   * (vfat, exFAT, NTFS) takes no owners or modes from it (they are the mount's, 0777 or 0700).
   */
  sourceFilesystemType?: string;
  /** Who owns what a restore from such a drive writes: the library folder's owner. */
  owner?: { uid: number; gid: number };
  /**
   * The destination's driver loses a file's time when rsync renames it into place (fusefat):
   * a second pass puts the times back, so the next run finds nothing to copy.
   */
  fixTimesAfterCopy?: boolean;
  signal?: AbortSignal;
  timeoutMs: number;
  /** A restore keeps what it replaces in the live library here (rsync --backup-dir). */
  replacedFilesDir?: string;
  /**
   * Keep an interrupted file in `.rsync-partial/` to resume it next time. Worth it for big copies;
   * it costs a stat per file, which shows on a large unchanged library. Default true.
   */
  resumable?: boolean;
  /** Called with rsync's overall progress (--info=progress2) as it copies. */
  onProgress?: (progress: SyncProgress) => void;
  /** Top-level folders of the source to leave out ("thumbs" is /thumbs/). */
  excludeFolders?: readonly string[];
  /** Only these top-level folders of the source. */
  onlyFolders?: readonly string[];
  /** Count the changes, file by file (rsync's itemized output). */
  itemize?: boolean;
  /** With `itemize`: also list the paths of replaced files, at most this many (the rest counted). */
  listReplaced?: number;
  /**
   * Source-relative paths of files the copy must leave alone (exact names, whatever they hold):
   * given to rsync on its stdin as `--exclude-from=-` with `--from0`, never as arguments.
   */
  leaveAlone?: readonly string[];
  /**
   * Dry runs only: also count the files the destination has and the source has lost (rsync
   * --delete, which only ever runs with --dry-run here; nothing is ever deleted).
   */
  countMissing?: boolean;
}

/**
 * Builds rsync's arguments. Never --delete: a file removed from the library stays in the
 * backup. The source ends in "/" so the library's contents (hidden `.immich` markers included)
 * land in `files/`. rsync writes each file under a hidden temporary name and renames it when
 * complete; an interrupted file waits in `.rsync-partial/` to be resumed, out of sight.
 */
export function rsyncArguments(
  request: Omit<SyncRequest, 'signal' | 'timeoutMs'>,
  dryRun = false,
): string[] {
  const largest = largestFile(request.filesystemType);
  return [
    ...keepOptions(request),
    // FAT32 takes no file of 4 GiB or more, and rsync would abort the whole copy at the first:
    // such files are left out (and named, see syncLibrary).
    ...(largest !== null ? [`--max-size=${largest}`] : []),
    // rsync always writes a file under a hidden temporary name and renames it when complete; with
    // --partial-dir an interrupted one is kept, out of sight, to be resumed.
    ...(dryRun || request.resumable === false ? [] : ['--partial-dir=.rsync-partial']),
    ...(request.replacedFilesDir ? ['--backup', `--backup-dir=${request.replacedFilesDir}`] : []),
    // Before the folders' rules: the first rule that matches decides, and these must win.
    ...(request.leaveAlone?.length ? ['--from0', '--exclude-from=-'] : []),
    ...(request.excludeFolders ?? []).map((folder) => `--exclude=/${folder}/`),
    ...(request.onlyFolders?.length
      ? [...request.onlyFolders.map((folder) => `--include=/${folder}/***`), '--exclude=*']
      : []),
    ...(request.itemize ? ['--out-format=%i %l %n'] : []),
    ...(request.countMissing && dryRun ? ['--delete'] : []),
    '--stats',
    '--no-human-readable',
    // Overall progress; the whole file list first, so the percentage does not jump backwards.
    ...(request.onProgress && !dryRun ? ['--info=progress2', '--no-inc-recursive'] : []),
    ...(dryRun ? ['--dry-run'] : []),
    '--',
    withSlash(request.source),
    withSlash(request.destination),
  ];
}

/**
 * What is kept. A backup (onto the drive):
 * - a drive that keeps permissions (ext4, xfs, btrfs): everything, owners by number, hard links;
 * - a drive without (vfat, exFAT, NTFS): contents and times only (FAT stores times in 2 s steps,
 *   hence the window), every file and folder 0700, as the drive is mounted (a mode the driver
 *   cannot set would fail the file: fusefat has no chmod at all).
 * A restore (into the library, `sourceFilesystemType` given) writes only regular files and
 * folders (no symlinks, devices or specials: without -l and -D rsync skips them), owned by the
 * library folder's owner, never setuid or setgid: the drive is not trusted to say otherwise.
 * - from a drive that kept permissions into a library that keeps them: the modes backed up;
 * - otherwise (a drive without permissions has only its mount's made-up 0700 root:root; a library
 *   on mergerfs or NFS may not take owners): new files get plain modes (folders 0755, files
 *   0644); files already there keep their modes.
 */
function keepOptions(request: Omit<SyncRequest, 'signal' | 'timeoutMs'>): string[] {
  const archive = ['--archive', '--hard-links', '--numeric-ids'];
  const contents = ['--recursive', '--times', '--modify-window=1'];
  const destinationKeeps = keepsPermissions(request.filesystemType);
  if (request.sourceFilesystemType === undefined)
    return destinationKeeps ? archive : [...contents, '--chmod=D0700,F0700'];
  const owner = request.owner
    ? ['--numeric-ids', `--chown=${request.owner.uid}:${request.owner.gid}`]
    : [];
  if (destinationKeeps && keepsPermissions(request.sourceFilesystemType))
    return ['--recursive', '--times', '--perms', '--chmod=ug-s', '--hard-links', ...owner];
  // Without --perms, --chmod sets what new files get and leaves existing files' modes alone.
  return [...contents, '--chmod=D0755,F0644', ...owner];
}

/**
 * rsync's stdin for `leaveAlone`: one exact, anchored pattern per path, each ended by NUL
 * (--from0: a name may hold a newline). rsync reads a backslash as an escape only in a pattern
 * with a wildcard (`*`, `?`, `[`), so only then are `\`, `*`, `?` and `[` escaped; a pattern
 * starting with `/` matches from the copy's root, and `#`, `;`, `- ` or `+ ` never start one.
 */
export function leaveAloneInput(paths: readonly string[]): Buffer {
  return Buffer.concat(paths.map((relative) => Buffer.from(`${exactPattern(relative)}\0`)));
}

export function exactPattern(relative: string): string {
  if (relative === '' || relative.startsWith('/') || relative.includes('\0'))
    throw new Error(`Not a relative path for rsync to leave alone: ${JSON.stringify(relative)}`);
  const escaped = /[*?[]/.test(relative) ? relative.replace(/[\\*?[]/g, '\\$&') : relative;
  return `/${escaped}`;
}

function withSlash(folder: string): string {
  return folder.endsWith('/') ? folder : `${folder}/`;
}
