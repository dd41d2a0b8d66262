import { lstatSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import { folderSize } from '../../files/folder-size.js';
import { ensureFolderOnDrive, keepRootOwned } from '../../session/drive-folders.js';
import { syncLibrary, type SyncProgress, type SyncResult } from '../../adapters/rsync.js';
import { AgentError, isAgentError } from '../../errors.js';
import { measure } from './check-space.js';
import { replacedListLimit } from './guard-originals.js';
import { recheckCopiedOriginals } from './recheck-originals.js';
import { assertDriveStillThere } from './drive-still-there.js';
import { driveWriteError } from '../../adapters/drive-errors.js';
import { usbSpeedWarning } from '../../adapters/sysfs-usb.js';
import { losesTimesOnRename } from '../../adapters/filesystem-types.js';
import { formatBytes, formatDuration, localDate, plural } from '../../format.js';
import { backupLayout, versionsFolderName } from '../../layout/drive.js';
import { chosenDrive, type StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

/** A first copy of a large library over USB 2 can take a day; a hung copy is still caught. */
const syncTimeoutMs = 72 * 60 * 60 * 1000;

/** Mirrors the library into `files/`: only what is new or changed, never deleting. */
export async function syncStep(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, gateway, log, state } = context;
  const source = config.immich.libraryDir;
  if (context.request.dryRun && !target.mounted) {
    log.info({ step: 'sync' }, `Would copy what is new in ${source} to ${target.filesDir}.`);
    return;
  }
  if (!context.request.dryRun) await context.drive.proveOnDrive(target.filesDir, target.filesystem);
  log.info(
    { step: 'sync' },
    `${context.request.dryRun ? 'Measuring what would be copied' : 'Copying new and changed files'} from ${source} to ${target.filesDir}.`,
  );
  const started = Date.now();
  const exempt = config.versions.exempt;
  const kept = state.damagedOriginals.length;
  if (kept > 0 && !context.request.dryRun)
    log.info(
      { step: 'sync', keptFiles: kept },
      `Leaving the drive's good copies of ${plural(kept, 'damaged original')} as they are.`,
    );
  // A replaced file's previous copy goes to versions/<date>/ (a second run on one day gets its
  // own folder, so no earlier copy is overwritten): no byte ever backed up is lost by a later run.
  const versionsDir = context.request.dryRun
    ? undefined
    : versionsFolderFor(target.backupDir, state.startedAt);
  const base = {
    source,
    destination: target.filesDir,
    filesystemType: target.filesystemType,
    signal: context.signal,
    timeoutMs: syncTimeoutMs,
    resumable: await worthResuming(context),
    fixTimesAfterCopy: losesTimesOnRename(target.mountType),
    onProgress: (progress: SyncProgress) => context.reporter.update(progress),
  };
  let originals: SyncResult;
  let regenerable: SyncResult | null;
  try {
    // Made by the agent, each folder proven on the drive: rsync would follow a planted symlink.
    // Inside the try: the drive may go away before it is made, too.
    if (versionsDir)
      await ensureFolderOnDrive(
        context.drive,
        target.filesystem,
        target.backupDir,
        versionsDir,
        true,
      );
    originals = await syncLibrary(
      gateway,
      {
        ...base,
        excludeFolders: exempt,
        // Originals whose live copy no longer matches Immich's checksum: the drive's good copy
        // stays as it is (see guard-originals.ts).
        leaveAlone: state.damagedOriginals,
        itemize: true,
        // What it replaced is checked again once copied (recheck-originals.ts).
        listReplaced: versionsDir ? replacedListLimit : undefined,
        replacedFilesDir: versionsDir ? path.join(target.backupDir, versionsDir) : undefined,
      },
      context.request.dryRun,
    );
    if (versionsDir) await recheckCopiedOriginals(context, target, versionsDir, originals.changes);
    // Immich regenerates thumbs/ and encoded-video/: copied, but not versioned.
    regenerable =
      exempt.length > 0
        ? await syncLibrary(gateway, { ...base, onlyFolders: exempt }, context.request.dryRun)
        : null;
  } catch (error) {
    if (!context.request.dryRun) await assertDriveStillThere(context, target, error);
    if (isAgentError(error, 'NO_SPACE') && !context.request.dryRun)
      throw await withMissingSpace(context, target, error);
    throw driveWriteError(error, 'the versions folder', 'sync', target.backupDir) ?? error;
  }
  // The drive may have gone while rsync wrote into a lazily unmounted filesystem.
  if (!context.request.dryRun) await context.drive.proveOnDrive(target.filesDir, target.filesystem);
  // rsync -a gave files/ the library root's owner and mode: back to root.
  if (!context.request.dryRun) await keepRootOwned(target.filesDir);
  const durationMs = Date.now() - started;
  const result = {
    transferredFiles: originals.transferredFiles + (regenerable?.transferredFiles ?? 0),
    transferredBytes: originals.transferredBytes + (regenerable?.transferredBytes ?? 0),
    totalFiles: originals.totalFiles + (regenerable?.totalFiles ?? 0),
    totalBytes: originals.totalBytes + (regenerable?.totalBytes ?? 0),
    warnings: [...originals.warnings, ...(regenerable?.warnings ?? [])],
  };
  const notStored = mergeNotStored(originals.notStored, regenerable?.notStored ?? null);
  const versioned = versionsDir
    ? await folderSize(path.join(target.backupDir, versionsDir))
    : { files: 0, bytes: 0 };
  // The day's folder was made before the copy; nothing replaced, it goes again (a later run that
  // day then gets the day's own name, as before).
  if (versionsDir && versioned.files === 0)
    await rmdir(path.join(target.backupDir, versionsDir)).catch(() => undefined);
  state.files = {
    transferredFiles: result.transferredFiles,
    transferredBytes: result.transferredBytes,
    totalFiles: result.totalFiles,
    totalBytes: result.totalBytes,
    durationMs,
    versionedFiles: versioned.files,
    versionedBytes: versioned.bytes,
    versionsDir:
      versioned.files > 0 && versionsDir ? `versions/${path.basename(versionsDir)}` : null,
    versionsTotalBytes: context.request.dryRun
      ? 0
      : (await folderSize(backupLayout(target.backupDir).versionsDir)).bytes,
    notStored,
  };
  if (notStored) {
    // Everything else is backed up; these are named, in the record and to people, every run,
    // until they are renamed (or the drive is one that takes them).
    const shown = notStored.names.slice(0, 10).join(', ');
    const more = notStored.files > 10 ? ` and ${notStored.files - 10} more (last-run --json)` : '';
    result.warnings.push(
      `${plural(notStored.files, 'file')} could not be stored on this ${target.filesystemType} drive (names or sizes it refuses) and ${notStored.files === 1 ? 'is' : 'are'} not in the backup: ${shown}${more}. Everything else is backed up. A drive formatted ext4 (or NTFS) takes them; do not rename them in the library, Immich knows them by path.`,
    );
  }
  if (versioned.files > 0) {
    log.info(
      { step: 'sync', versionedFiles: versioned.files, versionedBytes: versioned.bytes },
      `Kept the previous copy of ${plural(versioned.files, 'replaced file')} (${formatBytes(versioned.bytes)}) in ${state.files.versionsDir}.`,
    );
  }
  const slowLink = state.drive?.identity
    ? usbSpeedWarning(state.drive.identity, result.totalBytes)
    : null;
  if (slowLink && !context.request.dryRun) result.warnings.push(slowLink);
  for (const warning of result.warnings) {
    state.warn(warning);
    log.warn({ step: 'sync' }, warning);
  }
  log.info(
    { step: 'sync', ...state.files },
    `${context.request.dryRun ? 'Would copy' : 'Copied'} ${plural(result.transferredFiles, 'new or changed file')} (${formatBytes(result.transferredBytes)}) in ${formatDuration(durationMs)}; the library has ${plural(result.totalFiles, 'file')} (${formatBytes(result.totalBytes)}).`,
  );
}

function mergeNotStored(
  first: SyncResult['notStored'],
  second: SyncResult['notStored'],
): SyncResult['notStored'] {
  if (!first || !second) return first ?? second;
  return {
    files: first.files + second.files,
    names: [...first.names, ...second.names].slice(0, 1000),
  };
}

/** The drive filled up during the copy: say how much was still missing (bytes, or inodes). */
async function withMissingSpace(
  context: StepContext,
  target: PreparedDrive,
  error: AgentError,
): Promise<AgentError> {
  try {
    const { newData, newFiles, free, freeInodes } = await measure(context, target);
    if (free === null) return error;
    const shortage =
      newData > free
        ? `${formatBytes(newData - free)} missing`
        : freeInodes === 0
          ? 'no inodes left: the filesystem can hold no more files'
          : 'the rest went to filesystem overhead';
    return new AgentError(
      'NO_SPACE',
      `The backup drive filled up during the copy: ${plural(newFiles, 'file')} (${formatBytes(newData)}) were still to copy, ${formatBytes(free)} free (${shortage}).`,
      {
        step: 'sync',
        hint: error.hint,
        cause: error,
        details: {
          stillToCopyBytes: newData,
          stillToCopyFiles: newFiles,
          freeBytes: free,
          freeInodes,
        },
      },
    );
  } catch {
    return error;
  }
}

/** Bigger copies than this keep interrupted files to resume them (see SyncRequest.resumable). */
const resumableFromBytes = 256 * 1024 * 1024;

/**
 * Keep interrupted files for the next run when there is a lot to copy, or when the last run to
 * this drive did not finish (its kept files are then picked up and cleaned away).
 */
async function worthResuming(context: StepContext): Promise<boolean> {
  if (context.state.plannedNewBytes === null || context.state.plannedNewBytes > resumableFromBytes)
    return true;
  // The last run that used this drive (skipped runs that never reached it do not count).
  const last = await context.history.latestUsing(chosenDrive(context).uuid);
  const finished = last?.outcome === 'success' || last?.outcome === 'warning';
  return !finished;
}

/**
 * versions/<local date of the run>, or with the time when that folder exists already, and a
 * counter after the time when even that exists (a clock set back to a second that was): never
 * a folder that is there, whose copies a run would overwrite.
 */
function versionsFolderFor(backupDir: string, startedAt: Date): string {
  const day = versionsFolderName(localDate(startedAt));
  if (!lexists(path.join(backupDir, day))) return day;
  const time = startedAt.toTimeString().slice(0, 8).replace(/:/g, '-');
  let folder = versionsFolderName(localDate(startedAt), time);
  for (let counter = 2; lexists(path.join(backupDir, folder)); counter += 1)
    folder = versionsFolderName(localDate(startedAt), `${time}-${counter}`);
  return folder;
}

/** Is anything there, a symlink too (existsSync follows one, and says no when it dangles)? */
function lexists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
