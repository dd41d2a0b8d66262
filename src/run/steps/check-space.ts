import { statfs } from 'node:fs/promises';
import { syncLibrary } from '../../adapters/rsync.js';
import { emptyChanges } from '../../adapters/rsync-output.js';
import { listDumps } from '../../drive-content/dumps.js';
import { AgentError } from '../../errors.js';
import { formatBytes } from '../../format.js';
import { massChangeVerdict, type ChangeCount } from '../../policy/mass-change.js';
import { chosenDrive, type StepContext } from '../context.js';
import { guardOriginals, replacedListLimit, type ReplacedList } from './guard-originals.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

const measureTimeoutMs = 2 * 60 * 60 * 1000;

export interface Measurement {
  /** Bytes and files the sync will copy (new and replaced, exempt folders included). */
  newData: number;
  newFiles: number;
  /** The size of the newest dump: the new one is written beside it before the rename. */
  dump: number;
  /** Free bytes; null when the filesystem's driver does not tell (fusefat reports 0 of 0). */
  free: number | null;
  freeInodes: number;
  /** The guard's count, exempt folders left out; null when the guard is off. */
  changes: ChangeCount | null;
  /** The files the copy would replace (exempt folders left out), whether the guard is on or off. */
  replaced: ReplacedList;
}

/**
 * What this backup would do, without doing it: two rsync dry runs (cheap against an unchanged
 * library), one over the library without the exempt folders, itemized and with --delete so it
 * also counts the files the library has lost (a dry run: nothing is deleted, ever), one over the
 * exempt folders; and the drive's free space.
 */
export async function measure(context: StepContext, target: PreparedDrive): Promise<Measurement> {
  const exempt = context.config.versions.exempt;
  const base = {
    source: context.config.immich.libraryDir,
    destination: target.filesDir,
    filesystemType: target.filesystemType,
    timeoutMs: measureTimeoutMs,
    signal: context.signal,
  };
  // Off (guard.enabled: false), nothing is counted against the mass-change limits; the replaced
  // files are still listed, for the originals check (which guard.enabled does not turn off).
  const counting = context.config.guard.enabled;
  const originals = await syncLibrary(
    context.gateway,
    {
      ...base,
      excludeFolders: exempt,
      itemize: true,
      countMissing: counting,
      listReplaced: replacedListLimit,
    },
    true,
  );
  const regenerable =
    exempt.length > 0
      ? await syncLibrary(context.gateway, { ...base, onlyFolders: exempt }, true)
      : null;
  const dump = (await listDumps(target.backupDir, context.log)).at(-1)?.bytes ?? 0;
  const info = await statfs(target.root);
  const changes = originals.changes ?? emptyChanges();
  return {
    newData: originals.transferredBytes + (regenerable?.transferredBytes ?? 0),
    newFiles: originals.transferredFiles + (regenerable?.transferredFiles ?? 0),
    dump,
    free: info.blocks > 0 ? info.bavail * info.bsize : null,
    freeInodes: info.ffree,
    changes: counting
      ? {
          libraryFiles: originals.totalFiles,
          newFiles: originals.createdFiles,
          replacedFiles: changes.replacedFiles,
          missingFiles: changes.missingFiles,
        }
      : null,
    replaced: {
      replacedFiles: changes.replacedFiles,
      paths: changes.replacedPaths,
      notListed: changes.replacedNotListed,
      notUtf8: changes.replacedNotUtf8,
    },
  };
}

/**
 * Before the server is stopped: will this backup fit, and is the library sane? A backup that
 * clearly cannot fit is refused (NO_SPACE, with the numbers); one that would replace or lose too
 * many of the backed-up files is refused (MASS_CHANGE) unless --accept-changes. Either way
 * Immich was never touched and nothing was written. Originals that would be replaced are checked
 * against Immich's checksums (guard-originals.ts): the damaged ones are left out of the copy.
 */
export async function checkSpaceAndChanges(
  context: StepContext,
  target: PreparedDrive,
): Promise<void> {
  if (context.request.dryRun) return;
  const measured = await measure(context, target);
  const needed = measured.newData + measured.dump;
  context.state.plannedNewBytes = measured.newData;
  context.log.info(
    {
      step: 'space',
      newDataBytes: measured.newData,
      dumpBytes: measured.dump,
      freeBytes: measured.free,
    },
    `This backup writes about ${formatBytes(needed)} (${formatBytes(measured.newData)} of new and changed files, a dump of about ${formatBytes(measured.dump)}); ${measured.free === null ? 'the drive’s driver does not say how much is free, so a full drive shows only when the copy fills it' : `${formatBytes(measured.free)} are free on the drive`}.`,
  );
  if (measured.changes) await guardChanges(context, measured.changes);
  if (measured.free !== null && needed > measured.free) {
    throw new AgentError(
      'NO_SPACE',
      `The backup drive is too full: this backup needs about ${formatBytes(needed)}, only ${formatBytes(measured.free)} are free (${formatBytes(needed - measured.free)} missing).`,
      {
        step: 'space',
        hint: 'Nothing was stopped or written. Free space on the drive (old dumps: retention.keepDumps; old versions: prune-versions) or use a bigger one.',
        details: {
          neededBytes: needed,
          freeBytes: measured.free,
          missingBytes: needed - measured.free,
        },
      },
    );
  }
  // Once the copy may go ahead (a mass change or a full drive is refused before any file is
  // read), and before Immich stops: which files about to be replaced are damaged originals.
  await guardOriginals(context, measured.replaced);
}

/** The mass-change guard: refuse (MASS_CHANGE) unless --accept-changes; the count goes on record. */
async function guardChanges(context: StepContext, changes: ChangeCount): Promise<void> {
  const { request } = context;
  // Files already lost at the last good backup of this drive that counted them were let
  // through then (a success with guard.enabled: false counted nothing: the one before it).
  const counted = await context.history.latestSuccess(
    chosenDrive(context).uuid,
    (record) => record.guard !== null,
  );
  const verdict = massChangeVerdict(
    changes,
    context.config.guard,
    counted?.guard?.missingFiles ?? 0,
  );
  context.state.guard = {
    backedUpFiles: verdict.backedUpFiles,
    replacedFiles: changes.replacedFiles,
    missingFiles: changes.missingFiles,
    newlyMissingFiles: verdict.newlyMissing,
    changedPercent: verdict.changedPercent,
    missingPercent: verdict.missingPercent,
    accepted: verdict.refuse && request.acceptChanges === true,
  };
  if (verdict.refuse && request.acceptChanges !== true) {
    throw new AgentError(
      'MASS_CHANGE',
      `Refusing to copy: ${verdict.reason}. That is what a failing disk, a bad script or ransomware looks like; the backup was left as it is.`,
      {
        step: 'guard',
        hint: 'Nothing was stopped or written. If the change is wanted, run: immich-backup-agent run --accept-changes (the replaced copies are kept in versions/).',
        details: { ...context.state.guard },
      },
    );
  }
  if (verdict.refuse) {
    context.log.warn(
      { step: 'guard', ...context.state.guard },
      `Accepted by --accept-changes: ${verdict.reason}.`,
    );
  }
}
