import { lstat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { NotFollowed, openFolder, openRegularFile } from '../restore/no-follow.js';

/**
 * A line's bytes (without its newline) and whether it is whole: a line longer than the limit is
 * given cut at it (its start is enough to tell what it is), so memory stays bounded by the limit
 * whatever the dump holds. Return true to stop reading.
 */
export type LineHandler = (line: Buffer, whole: boolean) => boolean | void;

/** Cuts a byte stream into lines at `\n`, holding at most `maxLineBytes` of a line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  private cut = false;
  stopped = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: LineHandler,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.stopped) {
      const end = chunk.indexOf(0x0a, start);
      if (end === -1) {
        this.hold(chunk.subarray(start));
        return;
      }
      if (this.held === 0 && !this.cut) {
        // The usual case: a line inside one chunk, given without a copy.
        const whole = end - start <= this.maxLineBytes;
        this.give(chunk.subarray(start, whole ? end : start + this.maxLineBytes), whole);
      } else {
        this.hold(chunk.subarray(start, end));
        this.giveHeld();
      }
      start = end + 1;
    }
  }

  /** The last line, when the stream does not end with a newline. */
  end(): void {
    if (!this.stopped && (this.held > 0 || this.cut)) this.giveHeld();
  }

  private hold(piece: Buffer): void {
    if (this.cut || piece.length === 0) return;
    const room = this.maxLineBytes - this.held;
    if (piece.length > room) this.cut = true;
    // A copy: the chunk it is part of is not kept alive by one line's end.
    const kept = Buffer.from(piece.subarray(0, Math.min(room, piece.length)));
    this.parts.push(kept);
    this.held += kept.length;
  }

  private giveHeld(): void {
    const line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    const whole = !this.cut;
    this.parts = [];
    this.held = 0;
    this.cut = false;
    this.give(line, whole);
  }

  private give(line: Buffer, whole: boolean): void {
    if (this.onLine(line, whole) === true) this.stopped = true;
  }
}

/**
 * Opens the dump `file` for reading without following any link. The folder it is in is the
 * backup folder the caller proved is on the drive (listDumps lists the dumps there, restore
 * opens it the same way): it is opened by its path with O_NOFOLLOW, so a symlink in its place
 * is refused too, and held; the dump is then opened by name inside the folder held
 * (openRegularFile: no link followed, no FIFO blocked on, a regular file only). A link in the
 * way throws NotFollowed naming it.
 */
export async function openDumpFile(file: string): Promise<FileHandle> {
  const folderPath = path.dirname(file);
  let folder: FileHandle;
  try {
    folder = await openFolder(folderPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
    // O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink too: the entry tells which.
    const info = await lstat(folderPath).catch(() => null);
    throw new NotFollowed(
      `the folder ${folderPath}`,
      info?.isSymbolicLink() ? 'is a symlink' : 'is not a folder',
    );
  }
  try {
    return await openRegularFile(folder, path.basename(file));
  } finally {
    await folder.close();
  }
}

/**
 * Streams a gzip file's lines to `onLine`, decompressing as it reads: memory stays at a few
 * chunks and one line (at most `maxLineBytes`), however big the file. The file is closed when
 * this returns or throws; an abort stops it with the signal's AbortError. Opened as openDumpFile
 * says.
 */
export async function readGzipLines(
  file: string,
  onLine: LineHandler,
  options: { maxLineBytes: number; signal?: AbortSignal },
): Promise<void> {
  const handle = await openDumpFile(file);
  const splitter = new LineSplitter(options.maxLineBytes, onLine);
  const input = handle.createReadStream({ highWaterMark: 256 * 1024 });
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  if (options.signal) addAbortSignal(options.signal, gunzip);
  // A failing read destroys gunzip with its error, which the loop below then throws.
  const chained = new Promise<void>((resolve) => pipeline(input, gunzip, () => resolve()));
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      splitter.push(chunk);
      if (splitter.stopped) break;
    }
    if (!splitter.stopped) splitter.end();
  } finally {
    // Stopped early or failed: the chain is torn down, and the file closed before returning.
    gunzip.destroy();
    input.destroy();
    await chained;
    if (!input.closed) await new Promise<void>((resolve) => input.once('close', () => resolve()));
  }
}
