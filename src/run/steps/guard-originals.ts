import type { FileHandle } from 'node:fs/promises';
import {
  createChecksumLookup,
  type ChecksumLookup,
  type ImmichChecksum,
} from '../../adapters/immich-checksums.js';
import { formatDuration, localDate, plural } from '../../format.js';
import { openFolder, openRegularFile } from '../../restore/no-follow.js';
import { sha1OfOpenFile } from '../../files/sha1-file.js';
import { hasContentChecksum, immichPathsOf } from '../../verify/immich-catalogue.js';
import type { StepContext } from '../context.js';
import { damagedListLimit, damagedMessage } from './damaged-message.js';

/**
 * Immich never changes an original after upload. A file the copy would replace on the drive is
 * checked against Immich's own checksum first: if the live file no longer matches it, the live
 * copy is the damaged one (a failing disk, a script, ransomware) and the good copy on the drive
 * is kept, the file left out of the copy. A file that matches (Immich took a new upload under
 * the same name) is copied as always, its previous copy kept in versions/; one Immich has no
 * checksum for (a sidecar, a profile image, a file not in the database) is copied as always.
 */

/** Replaced files listed by the guard's dry run; past this many, the rest are not checked. */
export const replacedListLimit = 20_000;

export interface OriginalsVerdict {
  /** Files checked against a checksum of Immich's (the damaged ones included). */
  checked: number;
  /** Library-relative paths of live files that no longer match. */
  damaged: string[];
  /** Files Immich has no content checksum for, or that could not be read: not judged. */
  unknown: number;
}

export interface OriginalsCheckDeps {
  lookup: ChecksumLookup['lookup'];
  /** The live file's SHA-1 (hex), or null when it is not a regular file there any more. */
  hash(relative: string): Promise<string | null>;
  uploadMounts: readonly string[];
}

/** Is the row's checksum the SHA-1 of the original's content (not of its path)? */
export function isContentChecksum(
  row: ImmichChecksum,
): row is ImmichChecksum & { checksum: string } {
  return hasContentChecksum(row);
}

/** Judges each replaced file: matching Immich's checksum, damaged, or not known to Immich. */
export async function checkOriginals(
  relatives: readonly string[],
  deps: OriginalsCheckDeps,
): Promise<OriginalsVerdict> {
  const candidates = new Map(
    relatives.map((relative) => [relative, immichPathsOf(relative, deps.uploadMounts)]),
  );
  const rows = await deps.lookup([...candidates.values()].flat());
  const verdict: OriginalsVerdict = { checked: 0, damaged: [], unknown: 0 };
  for (const [relative, paths] of candidates) {
    const expected = new Set(
      paths
        .flatMap((candidate) => rows.get(candidate) ?? [])
        .filter(isContentChecksum)
        .map((row) => row.checksum),
    );
    const live = expected.size > 0 ? await deps.hash(relative) : null;
    if (live === null) {
      verdict.unknown += 1;
      continue;
    }
    verdict.checked += 1;
    if (!expected.has(live)) verdict.damaged.push(relative);
  }
  return verdict;
}

/** What the guard's dry run listed of the replaced files (not exempt folders). */
export interface ReplacedList {
  replacedFiles: number;
  paths: readonly string[];
  /** Past `replacedListLimit`: copied unchecked (their previous copies go to versions/). */
  notListed: number;
  /** Names that are not UTF-8: no path in Immich's database can name them. */
  notUtf8: number;
}

/** Immich's live database, asked for the checksums of the paths it stores. */
export function checksumLookupFor(context: StepContext): ChecksumLookup {
  const { config } = context;
  return createChecksumLookup(context.docker, {
    container: config.immich.databaseContainer,
    user: config.immich.databaseUser,
    database: config.immich.databaseName,
    password: config.secrets.databasePassword,
    signal: context.signal,
  });
}

/** The verdict onto the record: the damaged paths capped, their count kept (the full list is the run's). */
export function recordOriginals(context: StepContext, verdict: OriginalsVerdict): void {
  context.state.damagedOriginals = [...verdict.damaged];
  context.state.originals = {
    checked: verdict.checked,
    damaged: verdict.damaged.slice(0, damagedListLimit),
    damagedCount: verdict.damaged.length,
    unknown: verdict.unknown,
  };
}

/** The check, before Immich is stopped; its verdict goes on record and to the sync step. */
export async function guardOriginals(context: StepContext, replaced: ReplacedList): Promise<void> {
  const { config, log, state } = context;
  if (replaced.replacedFiles === 0) return;
  const started = Date.now();
  const lookup = checksumLookupFor(context);
  let library: FileHandle | null = null;
  let verdict: OriginalsVerdict;
  try {
    library = await openFolder(config.immich.libraryDir);
    const folder = library;
    // One read buffer for the check: checkOriginals hashes one file at a time.
    const buffer = Buffer.allocUnsafe(sha1BufferBytes);
    verdict = await checkOriginals(replaced.paths, {
      lookup: (paths) => lookup.lookup(paths),
      hash: (relative) => sha1Of(folder, relative, context.signal, buffer),
      uploadMounts: config.immich.uploadMounts,
    });
  } catch (error) {
    if (context.signal.aborted) throw error;
    // Nothing is lost by copying: every replaced copy is kept in versions/, and the copies are
    // checked again after the copy (recheck-originals.ts).
    const message = `Could not check ${plural(replaced.replacedFiles, 'replaced file')} against Immich's own checksums before the copy (${(error as Error).message}); they are copied as usual, their previous copies kept in versions/.`;
    recordOriginals(context, { checked: 0, damaged: [], unknown: replaced.replacedFiles });
    state.warn(message);
    log.warn({ step: 'guard', err: error }, message);
    return;
  } finally {
    await library?.close();
  }
  const notChecked = replaced.notListed + replaced.notUtf8;
  recordOriginals(context, { ...verdict, unknown: verdict.unknown + notChecked });
  log.info(
    { step: 'guard', checked: verdict.checked, damaged: verdict.damaged.length },
    `Checked ${plural(verdict.checked, 'replaced original')} against Immich's own checksums in ${formatDuration(Date.now() - started)}: ${verdict.damaged.length === 0 ? 'none is damaged' : `${verdict.damaged.length} damaged`}; ${plural(verdict.unknown + notChecked, 'replaced file')} Immich has no checksum for.`,
  );
  warnIfNoneKnown(context, replaced.paths, verdict);
  if (replaced.notListed > 0)
    log.info(
      { step: 'guard', notChecked: replaced.notListed },
      `${plural(replaced.notListed, 'more replaced file')} than the ${replacedListLimit.toLocaleString('en-US')} checked now are checked after the copy.`,
    );
  if (verdict.damaged.length > 0) {
    const message = damagedMessage(verdict.damaged, localDate(state.startedAt), 'kept');
    state.warnWithCode('ORIGINALS_DAMAGED', message);
    log.warn({ step: 'guard', damaged: verdict.damaged.slice(0, damagedListLimit) }, message);
  }
}

/**
 * Originals under library/ or upload/ replaced, and not one known to the database: the paths
 * Immich stores probably start elsewhere (a mount the compose file does not show), and the
 * check saw nothing. Said in the log, not guessed at.
 */
export function warnIfNoneKnown(
  context: StepContext,
  paths: readonly string[],
  verdict: OriginalsVerdict,
): void {
  const originals = paths.filter((item) => /^(library|upload)\//.test(item)).length;
  if (originals === 0 || verdict.checked > 0) return;
  context.log.warn(
    {
      step: 'guard',
      replacedOriginals: originals,
      uploadMounts: context.config.immich.uploadMounts,
    },
    `${plural(originals, 'replaced file')} under library/ or upload/, and Immich's database knows none of them by the paths tried (${context.config.immich.uploadMounts.join(', ')}): if Immich sees the library at another path, its originals are not checked. Check the server's volumes in the compose file.`,
  );
}

export const sha1BufferBytes = 1024 * 1024;

/**
 * A file's SHA-1 under `base` (the library, or files/ on the drive), opened without following
 * links. `buffer` is the reader's own, reused file after file (one reader hashes one at a time).
 */
export async function sha1Of(
  library: FileHandle,
  relative: string,
  signal: AbortSignal,
  buffer: Buffer = Buffer.allocUnsafe(sha1BufferBytes),
): Promise<string | null> {
  let file: FileHandle;
  try {
    file = await openRegularFile(library, relative);
  } catch {
    return null; // gone, or a link or special file now: not judged; rsync decides what it copies
  }
  try {
    const read = await sha1OfOpenFile(file, buffer, () => signal.aborted);
    signal.throwIfAborted();
    return read?.sha1 ?? null;
  } catch (error) {
    // Unreadable (an I/O error): not judged here; the copy meets the same error and says so.
    if (signal.aborted) throw error;
    return null;
  } finally {
    await file.close();
  }
}
