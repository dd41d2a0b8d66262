import path from 'node:path';
import { whyNotStorable } from './filesystem-types.js';

/**
 * A drive without permissions (vfat, exFAT, NTFS) refuses some names: characters Windows
 * forbids, and, depending on the driver, more (fusefat takes no non-ASCII name at all). rsync
 * then goes on with the other files and ends with exit 23. This tells those refusals apart from
 * real errors, and finds every file they left out, holding no more than a thousand names.
 */

/** The most names kept for the record; beyond it, only counted. */
const keptNames = 1000;
/** The most refused paths remembered to recognise the files they left out. */
const rememberedPaths = 100_000;

/**
 * rsync (under LC_ALL=C, as the agent runs it) writes every byte it will not print as `\#ooo`
 * (octal), in stderr and in `%n` alike: UTF-8 names come out byte by byte, put back here.
 */
export function unescapeRsyncName(name: string): string {
  if (!name.includes('\\#')) return name;
  const bytes: number[] = [];
  for (let index = 0; index < name.length;) {
    const escape = /^\\#([0-7]{3})/.exec(name.slice(index, index + 5));
    if (escape) {
      bytes.push(parseInt(escape[1] as string, 8));
      index += 5;
      continue;
    }
    const character = String.fromCodePoint(name.codePointAt(index) ?? 0);
    bytes.push(...Buffer.from(character, 'utf8'));
    index += character.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * What an error line is about, relative to the destination, and whether it is a file or a
 * folder; null when it names no path. rsync names either the file itself or the hidden
 * temporary file it writes first (`.NAME.XXXXXX` in the same folder).
 */
export function failedPath(
  line: string,
  destination: string,
): { path: string; kind: 'file' | 'folder' } | null {
  // A rename names the file's own path, relative to the destination, second.
  const renamedTo = /^rsync: (?:\[receiver\] )?rename ".*?" -> "(.*)": /.exec(line)?.[1];
  if (renamedTo !== undefined) return { path: unescapeRsyncName(renamedTo), kind: 'file' };
  // rsync quotes a path without escaping the quotes a name may hold: the path ends where the
  // message goes on (`" -> "` of a link, else the last `" failed:` or `": `).
  const quoted =
    /^[^"]*"(.*?)" -> "/.exec(line)?.[1] ?? /^[^"]*"(.*)"(?: failed:|: )/.exec(line)?.[1];
  if (quoted === undefined) return null;
  const full = unescapeRsyncName(quoted);
  const root = destination.endsWith('/') ? destination : `${destination}/`;
  const relative = full.startsWith(root) ? full.slice(root.length) : full;
  if (/ mkdir "/.test(line)) return { path: relative, kind: 'folder' };
  const folder = path.dirname(relative);
  const temporary = /^\.(.+)\.[A-Za-z0-9]{6}$/s.exec(path.basename(relative))?.[1];
  const name = temporary && /mkstemp|rename|failed to set/.test(line) ? temporary : null;
  if (name === null) return { path: relative, kind: 'file' };
  return { path: folder === '.' ? name : `${folder}/${name}`, kind: 'file' };
}

/**
 * The errors a driver gives for a name it will not take: creating the file or the folder, or
 * renaming it into place, fails with EPERM (fusefat), ENOENT (exfat-fuse), EINVAL (ntfs-3g with
 * windows_names, the kernel's drivers), ENAMETOOLONG or EILSEQ (a name it cannot encode).
 */
const refusedErrno =
  '(Operation not permitted \\(1\\)|No such file or directory \\(2\\)|Invalid argument \\(22\\)|File name too long \\(36\\)|Invalid or incomplete multibyte or wide character \\(84\\)|Illegal byte sequence \\(84\\))';
/** rsync ≥ 3.2.4 tags its messages with the side that wrote them; older ones do not. */
const role = '(?:\\[(?:receiver|generator)\\] )?';
const refusal = new RegExp(
  `^rsync: ${role}(mkstemp|open|recv_generator: mkdir) ".*" failed: ${refusedErrno}$|^rsync: ${role}rename ".*" -> ".*": ${refusedErrno}$`,
);

/**
 * Lines that are no error of their own: the summary at the end, the note after a folder that
 * could not be made, a file that vanished from the library while it was read (exit 24's cause),
 * and rsync's warnings.
 */
const notAnError =
  /^(rsync error: some files\/attrs were not transferred|\*\*\* Skipping any contents from this failed directory \*\*\*|rsync warning: |file has vanished: |rsync: (\[sender\] )?file has vanished)/;

export interface RefusalReader {
  feed(text: string): void;
  /** Error lines about names the drive refused. */
  readonly refused: number;
  /** The refused files and folders (the first thousand). */
  readonly refusedFiles: ReadonlySet<string>;
  readonly refusedFolders: ReadonlySet<string>;
  /** Every other error line (the first ones kept, to be shown). */
  readonly otherErrors: number;
  readonly otherExamples: readonly string[];
}

/** Reads rsync's stderr as it comes, for a copy onto a drive without permissions. */
export function createRefusalReader(destination: string): RefusalReader {
  let pending = '';
  let refused = 0;
  let otherErrors = 0;
  const refusedFiles = new Set<string>();
  const refusedFolders = new Set<string>();
  const otherExamples: string[] = [];
  const line = (text: string): void => {
    if (text.trim() === '' || notAnError.test(text)) return;
    const failed = refusal.test(text) ? failedPath(text, destination) : null;
    if (failed !== null) {
      refused += 1;
      if (failed.kind === 'folder' && refusedFolders.size < rememberedPaths)
        refusedFolders.add(failed.path);
      if (failed.kind === 'file' && refusedFiles.size < rememberedPaths)
        refusedFiles.add(failed.path);
      return;
    }
    otherErrors += 1;
    if (otherExamples.length < 10) otherExamples.push(text);
  };
  const flush = (): void => {
    if (pending) line(pending);
    pending = '';
  };
  return {
    feed(text) {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const entry of lines) line(entry);
    },
    get refused() {
      flush();
      return refused;
    },
    get refusedFiles() {
      flush();
      return refusedFiles;
    },
    get refusedFolders() {
      flush();
      return refusedFolders;
    },
    get otherErrors() {
      flush();
      return otherErrors;
    },
    get otherExamples() {
      flush();
      return otherExamples;
    },
  };
}

/** Files left out of a copy because the drive cannot store them: how many, and their names. */
export interface NotStored {
  files: number;
  /** Their paths in the library (the first thousand). */
  names: string[];
}

/**
 * Reads a dry run's itemized lines (`%i %l %n`) after the copy. Every file still to be copied
 * that the drive refused (by rsync's errors: the file, or a folder above it) or that its
 * filesystem cannot hold (by name or size) is one the copy left out. A file that changed during
 * the copy is listed too, but not as refused: the next run takes it.
 */
export function notStoredReader(
  filesystemType: string,
  refusals: Pick<RefusalReader, 'refusedFiles' | 'refusedFolders'> | null,
): {
  feed(text: string): void;
  result(): { notStored: NotStored; attempted: { files: number; bytes: number } };
} {
  let pending = '';
  const found: NotStored = { files: 0, names: [] };
  // rsync counts a file it tried to write and could not among the "transferred" ones; a file in
  // a folder it could not make, or one over the size limit, it never tried.
  const attempted = { files: 0, bytes: 0 };
  const line = (text: string): void => {
    const match = /^[<>c.]f[^ ]* +(\d+) (.*)$/.exec(text);
    if (!match) return;
    const relative = unescapeRsyncName(match[2] ?? '');
    const bytes = Number(match[1]);
    const refusedFile = refusals?.refusedFiles.has(relative) ?? false;
    let inRefusedFolder = false;
    for (let folder = path.dirname(relative); folder !== '.' && !inRefusedFolder;) {
      inRefusedFolder = refusals?.refusedFolders.has(folder) ?? false;
      folder = path.dirname(folder);
    }
    if (
      !refusedFile &&
      !inRefusedFolder &&
      whyNotStorable(relative, filesystemType, bytes) === null
    )
      return;
    found.files += 1;
    if (found.names.length < keptNames) found.names.push(relative);
    if (refusedFile) {
      attempted.files += 1;
      attempted.bytes += bytes;
    }
  };
  return {
    feed(text) {
      const lines = (pending + text).split(/[\r\n]/);
      pending = lines.pop() ?? '';
      for (const entry of lines) line(entry);
    },
    result() {
      if (pending) line(pending);
      pending = '';
      return { notStored: found, attempted };
    },
  };
}
