import { lstat, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ChecksumLookup } from '../../adapters/immich-checksums.js';
import type { SyncChanges } from '../../adapters/rsync-output.js';
import { formatDuration, localDate, plural } from '../../format.js';
import { inside, NotFollowed, openFolder, walkFolders } from '../../restore/no-follow.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';
import type { StepContext } from '../context.js';
import { damagedListLimit, damagedMessage } from './damaged-message.js';
import {
  checkOriginals,
  checksumLookupFor,
  recordOriginals,
  replacedListLimit,
  sha1BufferBytes,
  sha1Of,
} from './guard-originals.js';

/**
 * The check before the copy runs while Immich is still up, and the dump comes between it and
 * the copy (with stopServer: during-dump Immich even runs again during the copy): a file damaged
 * in between, one changed after it was hashed, or one the first check could not judge (the
 * database did not answer, past the listing limit) would overwrite its good copy. So after the
 * copy, each original it replaced is read back from the drive and checked against Immich's
 * checksum; a new copy that does not match is taken out again and the previous copy, which
 * rsync has just moved to versions/<folder>/, is renamed back over it. What is left: replaced
 * files past the listing limit, names that are not UTF-8, and every one when the database does
 * not answer (their previous copies stay in versions/).
 */

export interface CopiedCheck {
  checked: number;
  /** New copies that did not match, each with its previous copy put back. */
  putBack: string[];
  /** New copies that did not match and whose previous copy could not be put back (why). */
  notPutBack: { path: string; why: string }[];
  unknown: number;
}

export interface CopiedCheckDeps {
  lookup: ChecksumLookup['lookup'];
  uploadMounts: readonly string[];
  /** files/ and versions/<folder>/ on the drive, held open. */
  filesDir: FileHandle;
  versionsDir: FileHandle;
  /** Proves a folder (a path reaching one held open) is on the drive. */
  prove(folder: string): Promise<void>;
  signal: AbortSignal;
}

/** Checks the new copies of `relatives` in files/ and puts the previous ones back where they do not match. */
export async function checkCopiedOriginals(
  relatives: readonly string[],
  deps: CopiedCheckDeps,
): Promise<CopiedCheck> {
  // One buffer for every file (checkOriginals hashes one at a time).
  const buffer = Buffer.allocUnsafe(sha1BufferBytes);
  const verdict = await checkOriginals(relatives, {
    lookup: deps.lookup,
    hash: (relative) => sha1Of(deps.filesDir, relative, deps.signal, buffer),
    uploadMounts: deps.uploadMounts,
  });
  const result: CopiedCheck = {
    checked: verdict.checked,
    putBack: [],
    notPutBack: [],
    unknown: verdict.unknown,
  };
  for (const relative of verdict.damaged) {
    const why = await putBack(relative, deps);
    if (why === null) result.putBack.push(relative);
    else result.notPutBack.push({ path: relative, why });
  }
  return result;
}

/**
 * versions/<folder>/<path> renamed over files/<path>: both folders walked without following a
 * link, both proven on the drive (one filesystem: the rename is atomic, never a copy). Null when
 * done, else why not.
 */
async function putBack(relative: string, deps: CopiedCheckDeps): Promise<string | null> {
  const parts = relative.split('/').filter(Boolean);
  const name = parts.pop() as string;
  const held: FileHandle[] = [];
  try {
    const from = await walkFolders(deps.versionsDir, parts);
    held.push(from);
    const to = await walkFolders(deps.filesDir, parts);
    held.push(to);
    await deps.prove(inside(from, '.'));
    await deps.prove(inside(to, '.'));
    const previous = await lstat(inside(from, name)).catch(() => null);
    if (!previous?.isFile()) return 'no previous copy in versions/';
    await rename(inside(from, name), inside(to, name));
    return null;
  } catch (error) {
    if (error instanceof NotFollowed) return error.message;
    throw error;
  } finally {
    for (const handle of held) await handle.close();
  }
}

/**
 * After the copy of the originals: its replaced files, checked on the drive (see above); the
 * verdict joins the one before the copy in the record.
 */
export async function recheckCopiedOriginals(
  context: StepContext,
  target: PreparedDrive,
  versionsDir: string,
  changes: SyncChanges | null,
): Promise<void> {
  const { log, state } = context;
  if (!changes || changes.replacedFiles === 0) return;
  const before = new Set(state.damagedOriginals);
  const relatives = changes.replacedPaths.filter((relative) => !before.has(relative));
  // Names that are not UTF-8 are no original of Immich's (its paths are text): copied unjudged,
  // as files it has no checksum for are. Those past the limit may be: said.
  const notListed = changes.replacedNotListed;
  const started = Date.now();
  const held: FileHandle[] = [];
  let check: CopiedCheck;
  try {
    const lookup = checksumLookupFor(context);
    held.push(await openFolder(target.filesDir));
    held.push(await openFolder(path.join(target.backupDir, versionsDir)));
    check = await checkCopiedOriginals(relatives, {
      lookup: (paths) => lookup.lookup(paths),
      uploadMounts: context.config.immich.uploadMounts,
      filesDir: held[0] as FileHandle,
      versionsDir: held[1] as FileHandle,
      prove: (folder) => context.drive.proveOnDrive(folder, target.filesystem),
      signal: context.signal,
    });
  } catch (error) {
    if (context.signal.aborted || isDriveError(error)) throw error;
    const message = `Could not check the copies of ${plural(relatives.length, 'replaced file')} against Immich's own checksums (${(error as Error).message}); their previous copies are kept in versions/.`;
    state.warn(message);
    log.warn({ step: 'sync', err: error }, message);
    return;
  } finally {
    for (const handle of held) await handle.close();
  }
  const damaged = [...check.putBack, ...check.notPutBack.map((item) => item.path)];
  recordOriginals(context, {
    checked: before.size + check.checked,
    damaged: [...state.damagedOriginals, ...damaged],
    unknown: check.unknown + notListed + changes.replacedNotUtf8,
  });
  log.info(
    { step: 'sync', checked: check.checked, damaged: damaged.length },
    `Checked the copies of ${plural(check.checked, 'replaced original')} on the drive against Immich's own checksums in ${formatDuration(Date.now() - started)}: ${damaged.length === 0 ? 'every one matches' : `${damaged.length} did not`}.`,
  );
  if (notListed > 0) {
    const message = `${plural(notListed, 'replaced file')} past the ${replacedListLimit.toLocaleString('en-US')} checked ${notListed === 1 ? 'was' : 'were'} copied without a check against Immich's checksums; their previous copies are kept in versions/.`;
    state.warn(message);
    log.warn({ step: 'sync', notChecked: notListed }, message);
  }
  if (check.putBack.length > 0) {
    const message = damagedMessage(check.putBack, localDate(state.startedAt), 'put back');
    state.warnWithCode('ORIGINALS_DAMAGED', message);
    log.warn({ step: 'sync', damaged: check.putBack.slice(0, damagedListLimit) }, message);
  }
  if (check.notPutBack.length > 0) {
    const shown = check.notPutBack.slice(0, 10).map((item) => `${item.path} (${item.why})`);
    const message = `${plural(check.notPutBack.length, 'original')} changed while the backup ran and no longer ${check.notPutBack.length === 1 ? 'matches' : 'match'} Immich's checksum, and the previous copy could not be put back: ${shown.join(', ')}. Look in versions/ and older backups with immich-backup-agent restore --path <file> --as-of <date>.`;
    state.warnWithCode('ORIGINALS_DAMAGED', message);
    log.warn({ step: 'sync', notPutBack: check.notPutBack.slice(0, damagedListLimit) }, message);
  }
}

/** The drive gone or not the drive: the run fails, it is not a checksum question. */
function isDriveError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'DRIVE_GONE' || code === 'DRIVE_MISMATCH';
}
