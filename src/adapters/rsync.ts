import { AgentError } from '../errors.js';
import { keepsPermissions, largestFile } from './filesystem-types.js';
import { interpretExit, type ExitCodeTable, type ProcessGateway } from './process.js';
import {
  createRefusalReader,
  notStoredReader,
  type NotStored,
  type RefusalReader,
} from './rsync-refusals.js';
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
export type { NotStored } from './rsync-refusals.js';

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
  /** Files the destination's filesystem refused (names, sizes), left out; null when none. */
  notStored: NotStored | null;
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
 * A restore (into the library, `sourceFilesystemType` given):
 * - from a drive that kept them into a library that keeps them: everything, as backed up;
 * - otherwise (a drive without permissions has only its mount's made-up 0700 root:root; a library
 *   on mergerfs or NFS may not take owners): new files get plain modes (folders 0755, files
 *   0644) and the library folder's owner; files already there keep their modes.
 */
function keepOptions(request: Omit<SyncRequest, 'signal' | 'timeoutMs'>): string[] {
  const archive = ['--archive', '--hard-links', '--numeric-ids'];
  const contents = ['--recursive', '--times', '--modify-window=1'];
  const destinationKeeps = keepsPermissions(request.filesystemType);
  if (request.sourceFilesystemType === undefined)
    return destinationKeeps ? archive : [...contents, '--chmod=D0700,F0700'];
  if (destinationKeeps && keepsPermissions(request.sourceFilesystemType)) return archive;
  return [
    ...contents,
    // Without --perms, --chmod sets what new files get and leaves existing files' modes alone.
    '--chmod=D0755,F0644',
    ...(request.owner
      ? ['--numeric-ids', `--chown=${request.owner.uid}:${request.owner.gid}`]
      : []),
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
  // A drive without permissions refuses some names (and FAT32 big files): those errors are
  // told apart from the rest as they come.
  const refusals =
    !dryRun && !keepsPermissions(request.filesystemType)
      ? createRefusalReader(request.destination)
      : null;
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
    onErrorOutput: refusals ? (text) => refusals.feed(text) : undefined,
  });
  const meaning = interpretExit(rsyncExits, result.exitCode);
  const stderr = result.stderr.trim();
  const onlyRefusals =
    refusals !== null &&
    result.exitCode === 23 &&
    refusals.refused > 0 &&
    refusals.otherErrors === 0;
  if (meaning.outcome === 'error' && !onlyRefusals) {
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
    const errors = refusals?.otherExamples.length
      ? `${refusals.otherExamples.join(' | ')}${refusals.otherErrors > refusals.otherExamples.length ? ` | and ${refusals.otherErrors - refusals.otherExamples.length} more` : ''}`
      : lastLines(stderr, 10);
    throw new AgentError(
      'SYNC_FAILED',
      `rsync failed (exit ${result.exitCode}: ${meaning.meaning}). ${errors}`.trim(),
      {
        step: 'sync',
        hint: 'What was copied before is intact; the log has rsync’s messages. Run again once the cause is fixed.',
        details: { exitCode: result.exitCode },
      },
    );
  }
  if (request.fixTimesAfterCopy && !dryRun) await putTimesBack(gateway, request);
  const refused =
    onlyRefusals || (refusals !== null && largestFile(request.filesystemType) !== null)
      ? await findNotStored(gateway, request, refusals)
      : null;
  const warnings =
    meaning.outcome === 'warning' ? [`rsync: ${meaning.meaning} (exit ${result.exitCode})`] : [];
  const stats = parseRsyncStats(result.stdout);
  return {
    ...stats,
    // What rsync tried and the drive refused is not in the backup: not counted as copied.
    transferredFiles: Math.max(0, stats.transferredFiles - (refused?.attempted.files ?? 0)),
    transferredBytes: Math.max(0, stats.transferredBytes - (refused?.attempted.bytes ?? 0)),
    warnings,
    changes,
    notStored: refused && refused.notStored.files > 0 ? refused.notStored : null,
  };
}

/**
 * The files a copy left out because the drive refused them: a dry run of the same copy lists
 * every file still to be copied (also those inside a folder whose own name was refused, which
 * rsync's errors do not name), and the ones whose name or size the filesystem refuses are them.
 */
async function findNotStored(
  gateway: ProcessGateway,
  request: SyncRequest,
  refusals: RefusalReader,
): Promise<ReturnType<ReturnType<typeof notStoredReader>['result']>> {
  const reader = notStoredReader(request.filesystemType, refusals);
  const args = rsyncArguments(
    {
      ...request,
      replacedFilesDir: undefined,
      onProgress: undefined,
      itemize: true,
      countMissing: false,
    },
    true,
  ).filter((argument) => !argument.startsWith('--max-size='));
  const result = await gateway.run({
    tool: 'rsync',
    file: 'rsync',
    args,
    timeoutMs: request.timeoutMs,
    signal: request.signal,
    step: 'sync',
    onOutput: (text) => reader.feed(text),
  });
  if (interpretExit(rsyncExits, result.exitCode).outcome === 'error') {
    throw new AgentError(
      'SYNC_FAILED',
      `rsync could not list what the drive refused (exit ${result.exitCode}). ${lastLines(result.stderr.trim(), 5)}`,
      { step: 'sync' },
    );
  }
  return reader.result();
}

/**
 * The second pass for a driver that loses times on rename: only times are put right
 * (--size-only: a file of the same size is not copied again); a file that changed size since
 * the first pass is copied, its previous copy kept like any replaced file.
 */
async function putTimesBack(gateway: ProcessGateway, request: SyncRequest): Promise<void> {
  const args = rsyncArguments({ ...request, onProgress: undefined, itemize: false }, false);
  const result = await gateway.run({
    tool: 'rsync',
    file: 'rsync',
    args: ['--size-only', ...args],
    timeoutMs: request.timeoutMs,
    signal: request.signal,
    step: 'sync',
  });
  const meaning = interpretExit(rsyncExits, result.exitCode);
  if (meaning.outcome === 'error' && result.exitCode !== 23) {
    throw new AgentError(
      'SYNC_FAILED',
      `rsync could not put the files' times right on the drive (exit ${result.exitCode}: ${meaning.meaning}). ${lastLines(result.stderr.trim(), 5)}`,
      { step: 'sync' },
    );
  }
}

function withSlash(folder: string): string {
  return folder.endsWith('/') ? folder : `${folder}/`;
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join(' | ');
}
