import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  createChecksumLookup,
  type ChecksumLookup,
  type ImmichChecksum,
} from '../../adapters/immich-checksums.js';
import { formatDuration, localDate, plural } from '../../format.js';
import { openFolder, openRegularFile } from '../../restore/no-follow.js';
import { defaultUploadMounts, libraryPathOf } from '../../verify/immich-catalogue.js';
import type { StepContext } from '../context.js';

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

/**
 * The paths Immich may have stored for a library file: `<mount>/<path>` for each place the
 * library is mounted in its containers, and `upload/<path>`, how very old versions stored it
 * (each one checked to map back to exactly this file).
 */
export function immichPathsOf(relative: string, uploadMounts: readonly string[]): string[] {
  const candidates = [
    ...uploadMounts.map((mount) => `${mount.replace(/\/+$/, '')}/${relative}`),
    `upload/${relative}`,
  ];
  return [...new Set(candidates)].filter(
    (candidate) => libraryPathOf(candidate, uploadMounts) === relative,
  );
}

/** Is the row's checksum the SHA-1 of the original's content (not of its path)? */
export function isContentChecksum(
  row: ImmichChecksum,
): row is ImmichChecksum & { checksum: string } {
  if (row.checksum === null) return false;
  if (row.algorithm !== null) return row.algorithm === 'sha1';
  return !row.isExternal;
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

/** The check, before Immich is stopped; its verdict goes on record and to the sync step. */
export async function guardOriginals(context: StepContext, replaced: ReplacedList): Promise<void> {
  const { config, log, state } = context;
  if (replaced.replacedFiles === 0) return;
  const started = Date.now();
  const lookup = createChecksumLookup(context.docker, {
    container: config.immich.databaseContainer,
    user: config.immich.databaseUser,
    database: config.immich.databaseName,
    password: config.secrets.databasePassword,
  });
  let library: FileHandle | null = null;
  let verdict: OriginalsVerdict;
  try {
    library = await openFolder(config.immich.libraryDir);
    const folder = library;
    verdict = await checkOriginals(replaced.paths, {
      lookup: (paths) => lookup.lookup(paths),
      hash: (relative) => sha1Of(folder, relative, context.signal),
      uploadMounts: uploadMountsOf(config.immich),
    });
  } catch (error) {
    if (context.signal.aborted) throw error;
    // Nothing is lost by copying: every replaced copy is kept in versions/.
    const message = `Could not check ${plural(replaced.replacedFiles, 'replaced file')} against Immich's own checksums (${(error as Error).message}); they were copied as usual, their previous copies kept in versions/.`;
    state.originals = { checked: 0, damaged: [], unknown: replaced.replacedFiles };
    state.warn(message);
    log.warn({ step: 'guard', err: error }, message);
    return;
  } finally {
    await library?.close();
  }
  state.originals = {
    checked: verdict.checked,
    damaged: verdict.damaged,
    unknown: verdict.unknown + replaced.notListed + replaced.notUtf8,
  };
  log.info(
    { step: 'guard', ...state.originals, damaged: verdict.damaged.length },
    `Checked ${plural(verdict.checked, 'replaced original')} against Immich's own checksums in ${formatDuration(Date.now() - started)}: ${verdict.damaged.length === 0 ? 'none is damaged' : `${verdict.damaged.length} damaged`}; ${plural(state.originals.unknown, 'replaced file')} Immich has no checksum for.`,
  );
  if (replaced.notListed > 0) {
    const message = `${plural(replaced.notListed, 'more replaced file')} than the ${replacedListLimit.toLocaleString('en-US')} checked were copied without checking them against Immich's checksums; their previous copies are kept in versions/.`;
    state.warn(message);
    log.warn({ step: 'guard', notChecked: replaced.notListed }, message);
  }
  if (verdict.damaged.length > 0) {
    const message = damagedMessage(verdict.damaged, localDate(state.startedAt));
    state.warnWithCode('ORIGINALS_DAMAGED', message);
    log.warn({ step: 'guard', damaged: verdict.damaged.slice(0, 1000) }, message);
  }
}

function damagedMessage(damaged: readonly string[], today: string): string {
  const shown = damaged.slice(0, 10).map(shownName).join(', ');
  const more = damaged.length > 10 ? ` and ${damaged.length - 10} more (last-run --json)` : '';
  const one = damaged.length === 1;
  return `${plural(damaged.length, 'original')} in the library no longer ${one ? 'matches' : 'match'} Immich's own checksum, though Immich never changes an original (a failing disk, a script or ransomware does): ${shown}${more}. ${one ? 'Its good copy' : 'Their good copies'} on the drive ${one ? 'was' : 'were'} kept, not overwritten. Look at ${one ? 'it' : 'them'} in the library, and put a good copy back with: immich-backup-agent restore --path <file> --as-of ${today} --yes.`;
}

/** A name as text for a message: as it is, or JSON-quoted when it holds control characters. */
function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name;
}

/** The live file's SHA-1, read in a stream, opened without following links. */
async function sha1Of(
  library: FileHandle,
  relative: string,
  signal: AbortSignal,
): Promise<string | null> {
  let file: FileHandle;
  try {
    file = await openRegularFile(library, relative);
  } catch {
    return null; // gone, or a link or special file now: not judged; rsync decides what it copies
  }
  try {
    const hash = createHash('sha1');
    for await (const chunk of file.createReadStream({ autoClose: false, signal }))
      hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch (error) {
    // Unreadable (an I/O error): not judged here; the copy meets the same error and says so.
    if (signal.aborted) throw error;
    return null;
  } finally {
    await file.close();
  }
}

/** Where the library is mounted in Immich's containers (immich.uploadMounts once it exists). */
function uploadMountsOf(immich: object): readonly string[] {
  const mounts = (immich as { uploadMounts?: unknown }).uploadMounts;
  return Array.isArray(mounts) &&
    mounts.length > 0 &&
    mounts.every((mount) => typeof mount === 'string')
    ? mounts
    : defaultUploadMounts;
}
