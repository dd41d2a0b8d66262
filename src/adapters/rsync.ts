import { AgentError } from '../errors.js';
import { interpretExit, type ExitCodeTable, type ProcessGateway } from './process.js';
import {
  emptyChanges,
  outputReader,
  parseRsyncStats,
  type SyncChanges,
  type SyncProgress,
  type SyncStats,
} from './rsync-output.js';

export { parseProgressLine, parseRsyncStats } from './rsync-output.js';
export type { SyncChanges, SyncProgress, SyncStats } from './rsync-output.js';

/** rsync(1) EXIT VALUES, with what each means for a backup. */
export const rsyncExits: ExitCodeTable = {
  0: { outcome: 'ok', meaning: 'success' },
  1: { outcome: 'error', meaning: 'syntax or usage error' },
  2: { outcome: 'error', meaning: 'protocol incompatibility' },
  3: { outcome: 'error', meaning: 'errors selecting input/output files or folders' },
  4: { outcome: 'error', meaning: 'requested action not supported' },
  5: { outcome: 'error', meaning: 'error starting client-server protocol' },
  10: { outcome: 'error', meaning: 'error in socket I/O' },
  11: { outcome: 'error', meaning: 'error in file I/O' },
  12: { outcome: 'error', meaning: 'error in rsync protocol data stream' },
  13: { outcome: 'error', meaning: 'errors with program diagnostics' },
  14: { outcome: 'error', meaning: 'error in IPC code' },
  20: { outcome: 'error', meaning: 'received SIGUSR1 or SIGINT' },
  21: { outcome: 'error', meaning: 'some error returned by waitpid()' },
  22: { outcome: 'error', meaning: 'error allocating core memory buffers' },
  // Some files could not be copied: the backup is incomplete, so this is a failure.
  23: { outcome: 'error', meaning: 'partial transfer due to error' },
  // Files deleted from the library while it was read (Immich cleaning up): nothing is lost.
  24: { outcome: 'warning', meaning: 'some source files vanished before they could be copied' },
  25: { outcome: 'error', meaning: 'the --max-delete limit stopped deletions' },
  30: { outcome: 'error', meaning: 'timeout in data send/receive' },
  35: { outcome: 'error', meaning: 'timeout waiting for daemon connection' },
};

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

export interface SyncRequest {
  source: string;
  destination: string;
  /** The destination filesystem's type (mountinfo), which decides what can be kept. */
  filesystemType: string;
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
  /**
   * Dry runs only: also count the files the destination has and the source has lost (rsync
   * --delete, which only ever runs with --dry-run here; nothing is ever deleted).
   */
  countMissing?: boolean;
}

export interface SyncResult extends SyncStats {
  warnings: string[];
  /** Itemized changes, when asked for (`itemize`). */
  changes: SyncChanges | null;
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
  const keep = posixFilesystems.has(request.filesystemType)
    ? ['--archive', '--hard-links', '--numeric-ids']
    : // vfat/exFAT/NTFS keep no owners, permissions or links, and FAT stores times in 2 s steps.
      ['--recursive', '--times', '--modify-window=1'];
  return [
    ...keep,
    // rsync always writes a file under a hidden temporary name and renames it when complete; with
    // --partial-dir an interrupted one is kept, out of sight, to be resumed.
    ...(dryRun || request.resumable === false ? [] : ['--partial-dir=.rsync-partial']),
    ...(request.replacedFilesDir ? ['--backup', `--backup-dir=${request.replacedFilesDir}`] : []),
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

export async function syncLibrary(
  gateway: ProcessGateway,
  request: SyncRequest,
  dryRun = false,
): Promise<SyncResult> {
  if (request.countMissing && !dryRun)
    throw new Error('countMissing needs a dry run: the agent never deletes');
  const changes = request.itemize ? emptyChanges() : null;
  const result = await gateway.run({
    tool: 'rsync',
    file: 'rsync',
    args: rsyncArguments(request, dryRun),
    timeoutMs: request.timeoutMs,
    signal: request.signal,
    step: 'sync',
    onOutput:
      (request.onProgress && !dryRun) || request.itemize
        ? outputReader({
            onProgress: dryRun ? undefined : request.onProgress,
            changes: changes ?? undefined,
          })
        : undefined,
  });
  const meaning = interpretExit(rsyncExits, result.exitCode);
  const stderr = result.stderr.trim();
  if (meaning.outcome === 'error') {
    if (/No space left on device/i.test(stderr)) {
      throw new AgentError(
        'NO_SPACE',
        'The backup drive is full: rsync could not write all files.',
        {
          step: 'sync',
          hint: 'Free space on the drive or use a bigger one; what was copied before is intact.',
          details: { exitCode: result.exitCode },
        },
      );
    }
    if (/Input\/output error|No such device|Transport endpoint is not connected/i.test(stderr)) {
      throw new AgentError(
        'DRIVE_GONE',
        'The backup drive stopped answering during the file copy.',
        {
          step: 'sync',
          hint: 'Was it unplugged? Plug it in again and run again; the copy resumes where it stopped.',
          details: { exitCode: result.exitCode },
        },
      );
    }
    throw new AgentError(
      'SYNC_FAILED',
      `rsync failed (exit ${result.exitCode}: ${meaning.meaning}). ${lastLines(stderr, 5)}`.trim(),
      {
        step: 'sync',
        details: { exitCode: result.exitCode },
      },
    );
  }
  const warnings =
    meaning.outcome === 'warning' ? [`rsync: ${meaning.meaning} (exit ${result.exitCode})`] : [];
  return { ...parseRsyncStats(result.stdout), warnings, changes };
}

function withSlash(folder: string): string {
  return folder.endsWith('/') ? folder : `${folder}/`;
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join(' | ');
}
