import { AgentError } from '../errors.js';
import { keepsPermissions, largestFile } from './filesystem-types.js';
import { leaveAloneInput, rsyncArguments, type SyncRequest } from './rsync-arguments.js';
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
  type SyncStats,
} from './rsync-output.js';

export { parseProgressLine, parseRsyncStats, unescapeRsyncName } from './rsync-output.js';
export type { SyncChanges, SyncProgress, SyncStats } from './rsync-output.js';
export type { NotStored } from './rsync-refusals.js';
export { exactPattern, rsyncArguments, type SyncRequest } from './rsync-arguments.js';

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

export interface SyncResult extends SyncStats {
  warnings: string[];
  /** Itemized changes, when asked for (`itemize`). */
  changes: SyncChanges | null;
  /** Files the destination's filesystem refused (names, sizes), left out; null when none. */
  notStored: NotStored | null;
}

export async function syncLibrary(
  gateway: ProcessGateway,
  request: SyncRequest,
  dryRun = false,
): Promise<SyncResult> {
  if (request.countMissing && !dryRun)
    throw new Error('countMissing needs a dry run: the agent never deletes');
  const changes = request.itemize ? emptyChanges(request.listReplaced) : null;
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
    input: leaveAloneFor(request),
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
    input: leaveAloneFor(request),
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
    input: leaveAloneFor(request),
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

/** What rsync reads on its stdin: the files to leave alone (see SyncRequest.leaveAlone). */
function leaveAloneFor(request: SyncRequest): Buffer | undefined {
  return request.leaveAlone?.length ? leaveAloneInput(request.leaveAlone) : undefined;
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join(' | ');
}
