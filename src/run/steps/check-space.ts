import { statfs } from 'node:fs/promises';
import { syncLibrary } from '../../adapters/rsync.js';
import { listDumps } from '../../drive-content/dumps.js';
import { AgentError } from '../../errors.js';
import { formatBytes } from '../../format.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from './prepare-drive.js';

const measureTimeoutMs = 2 * 60 * 60 * 1000;

/** How much this backup still has to write: the library's new data (an rsync dry run) and a dump. */
export async function spaceNeeded(
  context: StepContext,
  target: PreparedDrive,
): Promise<{ newData: number; newFiles: number; dump: number; free: number; freeInodes: number }> {
  const measured = await syncLibrary(
    context.gateway,
    {
      source: context.config.immich.libraryDir,
      destination: target.filesDir,
      filesystemType: target.filesystemType,
      timeoutMs: measureTimeoutMs,
      signal: context.signal,
    },
    true,
  );
  // The new dump is about as big as the newest one; it is written beside it before the rename.
  const dump = (await listDumps(target.backupDir)).at(-1)?.bytes ?? 0;
  const info = await statfs(target.root);
  return {
    newData: measured.transferredBytes,
    newFiles: measured.transferredFiles,
    dump,
    free: info.bavail * info.bsize,
    freeInodes: info.ffree,
  };
}

/**
 * Before the server is stopped: will this backup fit? An rsync dry run (cheap against an
 * unchanged library) tells how much is new; with the size of a dump, that is compared with the
 * drive's free space. A backup that clearly cannot fit is refused here, with the numbers, before
 * Immich is touched (the estimate leaves out filesystem overhead, so only "clearly" is refused).
 */
export async function checkSpace(context: StepContext, target: PreparedDrive): Promise<void> {
  if (context.dryRun) return;
  const { newData, dump, free } = await spaceNeeded(context, target);
  const needed = newData + dump;
  context.state.plannedNewBytes = newData;
  context.log.info(
    { step: 'space', newDataBytes: newData, dumpBytes: dump, freeBytes: free },
    `This backup writes about ${formatBytes(needed)} (${formatBytes(newData)} of new files, a dump of about ${formatBytes(dump)}); ${formatBytes(free)} are free on the drive.`,
  );
  if (needed > free) {
    throw new AgentError(
      'NO_SPACE',
      `The backup drive is too full: this backup needs about ${formatBytes(needed)}, only ${formatBytes(free)} are free (${formatBytes(needed - free)} missing).`,
      {
        step: 'space',
        hint: 'Nothing was stopped or written. Free space on the drive (old dumps: retention.keepDumps) or use a bigger one.',
        details: { neededBytes: needed, freeBytes: free, missingBytes: needed - free },
      },
    );
  }
}
