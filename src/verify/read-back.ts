import type { FileHandle } from 'node:fs/promises';
import { sha1OfOpenFile } from '../files/sha1-file.js';
import { NotFollowed, openFolder, openRegularFile } from '../restore/no-follow.js';

/** One original to read back: where it is under files/, and the SHA-1 Immich has for it. */
export interface ReadBackItem {
  /** Library-relative (libraryPathOf's result: no leading `/`, no `..`). */
  path: string;
  /** 40 lowercase hex digits. */
  sha1: string;
}

/** Named problems, capped: the count is exact, the names stop at `namesCap`. */
export interface NamedList {
  count: number;
  names: string[];
}

export interface ReadBackResult {
  checkedFiles: number;
  checkedBytes: number;
  durationMs: number;
  bytesPerSecond: number;
  /** Read whole, and the SHA-1 is not Immich's. */
  mismatches: NamedList;
  /** Not on the drive (and the drive could have stored it). */
  missing: NamedList;
  /** Not on the drive because the drive's filesystem refuses its name or size: not a fault. */
  notStorable: NamedList;
  /** Something else is at its place (a symlink, a FIFO, a folder): not followed, not read. */
  notFollowed: NamedList;
  /** Could not be read (an I/O error): named with the error. */
  unreadable: NamedList;
  /** The drive failed under the read (EIO, gone): the files from there on were not judged. */
  ioError: string | null;
  /** Items taken in order from the start, every one of them finished: where to go on from. */
  done: number;
  /** The time budget ran out (or the signal aborted) before every item was done. */
  stoppedEarly: boolean;
}

export type ProblemKind = 'mismatch' | 'missing' | 'notStorable' | 'notFollowed' | 'unreadable';

export interface ReadBackOptions<T extends ReadBackItem = ReadBackItem> {
  /** How many files are read at once (4 keeps a USB 3 disk busy without seeking it to death). */
  parallel?: number;
  /** Stop once this much time is spent (null: no budget); what is in flight then is not counted. */
  budgetMs?: number | null;
  signal?: AbortSignal;
  /** Is this path one the drive cannot store (whyNotStorable, the record's notStored)? */
  notStorable?: (path: string) => boolean;
  /** How many names each list keeps (the counts go on). */
  namesCap?: number;
  /** Called for every problem, with the item as given (its id, say) and what went wrong. */
  onProblem?: (kind: ProblemKind, item: T, detail: string) => void;
  /** Called after every finished file, with the totals so far. */
  onProgress?: (progress: { items: number; checkedFiles: number; checkedBytes: number }) => void;
  now?: () => number;
}

const chunkBytes = 1024 * 1024;

/** Thrown inside a read when the budget or the signal says stop: the file is not counted. */
class Stopped extends Error {}

/**
 * Reads originals on the drive back and checks each one's SHA-1 against Immich's, in the order
 * given, `parallel` at a time, each streamed through one 1 MiB buffer (memory stays at
 * parallel × 1 MiB whatever the file sizes). Every component of every path is opened without
 * following a link, in the `files/` folder held open: the drive is untrusted. Nothing per file
 * is kept beyond the named problems.
 */
export async function readBackOriginals<T extends ReadBackItem>(
  filesDir: string,
  items: Iterable<T> | AsyncIterable<T>,
  options: ReadBackOptions<T> = {},
): Promise<ReadBackResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const cap = options.namesCap ?? 1000;
  const list = (): NamedList => ({ count: 0, names: [] });
  const result: ReadBackResult = {
    checkedFiles: 0,
    checkedBytes: 0,
    durationMs: 0,
    bytesPerSecond: 0,
    mismatches: list(),
    missing: list(),
    notStorable: list(),
    notFollowed: list(),
    unreadable: list(),
    ioError: null,
    done: 0,
    stoppedEarly: false,
  };
  const name = (kind: ProblemKind, item: T, detail = ''): void => {
    const into = result[kind === 'mismatch' ? 'mismatches' : kind];
    into.count += 1;
    if (into.names.length < cap) into.names.push(detail ? `${item.path} (${detail})` : item.path);
    options.onProblem?.(kind, item, detail);
  };
  const budgetMs = options.budgetMs ?? null;
  const mustStop = (): boolean =>
    result.ioError !== null ||
    options.signal?.aborted === true ||
    (budgetMs !== null && now() - started >= budgetMs);
  /** The drive itself failed (gone, an I/O error): no further file is judged by it. */
  const driveFailed = (error: unknown): boolean => {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === undefined || !driveErrorCodes.has(code)) return false;
    result.ioError ??= (error as Error).message;
    return true;
  };

  // `done` is the length of the finished run from the start; `ahead` holds only the items that
  // finished out of order beyond it (a few, about `parallel`): nothing per file is kept.
  const ahead = new Set<number>();
  let finishedCount = 0;
  let taken = 0;
  const source = toAsyncIterator(items);
  const buffers: Buffer[] = [];

  const checkOne = async (item: T, buffer: Buffer, files: FileHandle): Promise<void> => {
    let file: FileHandle;
    try {
      file = await openRegularFile(files, item.path);
    } catch (error) {
      if (driveFailed(error)) throw new Stopped();
      if (!(error instanceof NotFollowed)) return name('unreadable', item, String(error));
      if (error.why !== 'is not there')
        return name('notFollowed', item, error.entry === item.path ? error.why : error.message);
      return name(options.notStorable?.(item.path) ? 'notStorable' : 'missing', item);
    }
    try {
      const read = await sha1OfOpenFile(file, buffer, mustStop);
      if (read === null) throw new Stopped();
      result.checkedFiles += 1;
      result.checkedBytes += read.bytes;
      if (read.sha1 !== item.sha1.toLowerCase()) name('mismatch', item);
    } catch (error) {
      if (error instanceof Stopped || driveFailed(error)) throw new Stopped();
      name('unreadable', item, (error as Error).message);
    } finally {
      await file.close();
    }
  };

  const files = await openFolder(filesDir);
  try {
    const worker = async (buffer: Buffer): Promise<void> => {
      for (;;) {
        if (mustStop()) return;
        const next = await source.next();
        if (next.done === true) return;
        const index = taken;
        taken += 1;
        try {
          await checkOne(next.value, buffer, files);
        } catch (error) {
          if (error instanceof Stopped) return;
          throw error;
        }
        finishedCount += 1;
        ahead.add(index);
        while (ahead.delete(result.done)) result.done += 1;
        options.onProgress?.({
          items: finishedCount,
          checkedFiles: result.checkedFiles,
          checkedBytes: result.checkedBytes,
        });
      }
    };
    const parallel = Math.max(1, options.parallel ?? 4);
    for (let index = 0; index < parallel; index += 1) buffers.push(Buffer.allocUnsafe(chunkBytes));
    // Every worker ends before the folder is closed: its fd number could be reused under them.
    const ended = await Promise.allSettled(buffers.map((buffer) => worker(buffer)));
    const failed = ended.find((end) => end.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await files.close();
  }
  result.stoppedEarly = result.done < taken || (mustStop() && (await source.next()).done !== true);
  result.durationMs = Math.max(0, now() - started);
  result.bytesPerSecond =
    result.durationMs > 0 ? Math.round((result.checkedBytes * 1000) / result.durationMs) : 0;
  return result;
}

/** Errors of the device, not of one file: a drive that went away or cannot be read any more. */
const driveErrorCodes = new Set(['EIO', 'ENODEV', 'ENXIO', 'ESTALE', 'ENOTCONN', 'EREMOTEIO']);

function toAsyncIterator<T>(items: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  const iterator = items[Symbol.iterator]();
  return { next: () => Promise.resolve(iterator.next()) };
}
