import path from 'node:path';
import { plural } from '../../format.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';
import { dumpSource } from '../../verify/originals-catalogue.js';
import { markForCopyAgain } from '../../verify/mark-for-copy.js';
import { rollingReadBack } from '../../verify/rolling-read-back.js';
import type { StepContext } from '../context.js';

const firstFew = (names: readonly string[], count: number): string =>
  names
    .slice(0, 10)
    .map((name) => JSON.stringify(name))
    .join(', ') + (count > 10 ? `, … (${count} in all)` : '');

/**
 * verify.readBackSeconds: this backup's slice of the rolling read-back, once the server runs
 * again and the new backup passed its check. The originals to read and their SHA-1 come from
 * the dump just written (Immich's own checksums, as they were at this backup); what is found
 * is the run's warning BACKUP_DAMAGED, naming the files. A read-back that cannot run (a dump
 * it cannot read) is a plain warning: the backup itself is made.
 */
export async function readBackStep(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, state, log } = context;
  if (
    context.request.dryRun ||
    config.verify.readBackSeconds === 0 ||
    state.failed ||
    context.signal.aborted ||
    state.database === null ||
    state.files === null
  )
    return;
  try {
    const outcome = await rollingReadBack({
      stateDir: config.stateDir,
      drive: {
        uuid: target.filesystem.uuid,
        filesDir: target.filesDir,
        filesystemType: target.filesystemType,
      },
      source: dumpSource(
        path.join(target.backupDir, state.database.file),
        config.immich.databaseName,
        context.signal,
      ),
      // Where the server container sees UPLOAD_LOCATION: the start of the paths Immich stores.
      uploadMounts: config.immich.uploadMounts,
      notStored: state.files.notStored?.names,
      fullCycleDays: config.verify.fullCycleDays,
      maxAgeDays: config.schedule.maxAgeDays,
      budgetSeconds: config.verify.readBackSeconds,
      signal: context.signal,
      now: context.clock,
      log,
    });
    const { read } = outcome;
    // In the record, paths only: unreadable ones count as mismatches, things that are not
    // regular files (a symlink planted on the drive) as missing originals.
    const bare = (names: string[]): string[] => names.map((name) => name.replace(/ \(.*\)$/s, ''));
    state.readBack = {
      checkedFiles: read.checkedFiles,
      checkedBytes: read.checkedBytes,
      durationMs: read.durationMs,
      bytesPerSecond: read.bytesPerSecond,
      mismatches: [...read.mismatches.names, ...bare(read.unreadable.names)],
      missing: [...read.missing.names, ...bare(read.notFollowed.names)],
      cycleCoverage: outcome.cycleCoverage,
      outside: outcome.outside,
    };
    const damaged = [
      read.mismatches.count > 0
        ? `${plural(read.mismatches.count, 'original')} on the drive ${read.mismatches.count === 1 ? 'does' : 'do'} not match Immich's checksum: ${firstFew(read.mismatches.names, read.mismatches.count)}`
        : '',
      read.unreadable.count > 0
        ? `${plural(read.unreadable.count, 'original')} on the drive could not be read: ${firstFew(read.unreadable.names, read.unreadable.count)}`
        : '',
      read.missing.count + read.notFollowed.count > 0
        ? `${plural(read.missing.count + read.notFollowed.count, 'original')} missing from the drive: ${firstFew([...read.missing.names, ...read.notFollowed.names], read.missing.count + read.notFollowed.count)}`
        : '',
    ].filter(Boolean);
    if (damaged.length > 0) {
      // Rot keeps size and time: without a mark, the next copy would skip the damaged copies.
      const marked = await markForCopyAgain(target.filesDir, read.mismatches.names);
      const again =
        marked.length > 0
          ? ` The next backup copies ${plural(marked.length, 'mismatching original')} again from the library, if the library's copy matches Immich's checksum.`
          : '';
      state.warnWithCode('BACKUP_DAMAGED', `${damaged.join('; ')}.${again}`);
    }
  } catch (error) {
    log.warn(
      { step: 'read-back', err: error },
      `The read-back of originals could not run: ${(error as Error).message}`,
    );
    state.warn(`The read-back of originals could not run: ${(error as Error).message}`);
  }
}
