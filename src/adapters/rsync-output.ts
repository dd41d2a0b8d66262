/** What rsync prints, read: `--stats`, `--info=progress2` and itemized changes (`%i %l %n`). */

export interface SyncStats {
  totalFiles: number;
  totalBytes: number;
  transferredFiles: number;
  transferredBytes: number;
  createdFiles: number;
  /** With --delete in a dry run: files of the destination the source no longer has. */
  deletedFiles: number;
}

export interface SyncProgress {
  bytes: number;
  percent: number;
  bytesPerSecond: number;
  /** rsync's estimate while copying. */
  etaSeconds: number;
}

/** Itemized changes, counted (a few examples kept for messages; never every path). */
export interface SyncChanges {
  /** Files already in the destination that are replaced (changed, or touched). */
  replacedFiles: number;
  replacedBytes: number;
  /** Files new to the destination. */
  createdFiles: number;
  /** With --delete in a dry run: files the destination has and the source no longer does. */
  missingFiles: number;
  examples: { replaced: string[]; missing: string[] };
  /**
   * With `listReplaced`: the replaced files' paths, exactly (rsync's escapes undone), up to
   * `replacedLimit` of them; the rest only counted (memory stays flat past the limit).
   */
  replacedPaths: string[];
  replacedLimit: number;
  /** Replaced files past the limit, not in `replacedPaths`. */
  replacedNotListed: number;
  /** Replaced files whose name is not UTF-8 (no database path can name them): not listed. */
  replacedNotUtf8: number;
}

/** Reads the numbers of `rsync --stats` (with or without digit grouping). */
export function parseRsyncStats(text: string): SyncStats {
  const number = (pattern: RegExp): number => {
    const match = pattern.exec(text);
    return match?.[1] ? Number(match[1].replace(/,/g, '')) : 0;
  };
  return {
    totalFiles: number(/^Number of files: [\d,]+ \(reg: ([\d,]+)/m),
    totalBytes: number(/^Total file size: ([\d,]+) bytes/m),
    transferredFiles: number(/^Number of regular files transferred: ([\d,]+)/m),
    transferredBytes: number(/^Total transferred file size: ([\d,]+) bytes/m),
    createdFiles: number(/^Number of created files: [\d,]+ \(reg: ([\d,]+)/m),
    deletedFiles: number(/^Number of deleted files: [\d,]+ \(reg: ([\d,]+)/m),
  };
}

const progressLine = /^\s*(\d+)\s+(\d+)%\s+([\d.]+)([kMGT]?)B\/s\s+(\d+):(\d\d):(\d\d)/;
const rateUnits: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Parses rsync's --info=progress2 lines ("  123456  45%   12.34MB/s    0:01:23 (xfr#…)"), which end in \r. */
export function parseProgressLine(line: string): SyncProgress | null {
  const match = progressLine.exec(line);
  if (!match) return null;
  const [, bytes, percent, rate, unit, hours, minutes, seconds] = match;
  return {
    bytes: Number(bytes),
    percent: Number(percent),
    bytesPerSecond: Number(rate) * (rateUnits[unit ?? ''] ?? 1),
    etaSeconds: Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds),
  };
}

/** `%i %l %n`: ">f.st...... 1234 upload/a.jpg", ">f+++++++++ 10 new.jpg", "*deleting   0 gone.jpg". */
const itemLine = /^(\*deleting|[<>ch.][fdLDS][^ ]*) +(\d+) (.*)$/;

export function emptyChanges(replacedLimit = 0): SyncChanges {
  return {
    replacedFiles: 0,
    replacedBytes: 0,
    createdFiles: 0,
    missingFiles: 0,
    examples: { replaced: [], missing: [] },
    replacedPaths: [],
    replacedLimit,
    replacedNotListed: 0,
    replacedNotUtf8: 0,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A name as rsync printed it (`%n`), back to the name itself; null when that is not UTF-8.
 * rsync (checked with 3.5.0, in the C locale the gateway sets) writes every byte below 0x20 but tab
 * (newline, CR, …) and every byte of a non-ASCII character as `\#ooo` (three octal digits), and
 * a backslash that a `#` follows as `\#134`: a literal `\#` in a name is printed `\#134#`, so
 * every `\#ooo` in the output is an escape. Tabs, DEL, quotes and lone backslashes stay as they are.
 */
export function unescapeRsyncName(printed: string): string | null {
  // Decoded output holds U+FFFD only where rsync printed bytes that were not UTF-8.
  if (printed.includes('\uFFFD')) return null;
  if (!printed.includes('\\#')) return printed;
  const raw = Buffer.from(printed, 'utf8');
  const bytes: number[] = [];
  for (let index = 0; index < raw.length; index += 1) {
    const octal = raw.subarray(index + 2, index + 5).toString('latin1');
    if (raw[index] === 0x5c && raw[index + 1] === 0x23 && /^[0-3][0-7]{2}$/.test(octal)) {
      bytes.push(Number.parseInt(octal, 8));
      index += 4;
    } else {
      bytes.push(raw[index] as number);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** Counts one itemized line into `changes`; false when the line is not one. */
export function countItem(line: string, changes: SyncChanges): boolean {
  const match = itemLine.exec(line);
  if (!match) return false;
  const [, flags, length, name] = match as unknown as [string, string, string, string];
  if (flags === '*deleting') {
    if (!name.endsWith('/')) {
      changes.missingFiles += 1;
      if (changes.examples.missing.length < 5) changes.examples.missing.push(name);
    }
    return true;
  }
  if (flags[1] !== 'f' || (flags[0] !== '>' && flags[0] !== 'c')) return true; // folders, links, attributes only
  if (flags.slice(2).startsWith('+++')) {
    changes.createdFiles += 1;
  } else {
    changes.replacedFiles += 1;
    changes.replacedBytes += Number(length);
    if (changes.examples.replaced.length < 5) changes.examples.replaced.push(name);
    if (changes.replacedLimit > 0) listReplaced(name, changes);
  }
  return true;
}

function listReplaced(printed: string, changes: SyncChanges): void {
  const name = unescapeRsyncName(printed);
  if (name === null) changes.replacedNotUtf8 += 1;
  else if (changes.replacedPaths.length < changes.replacedLimit) changes.replacedPaths.push(name);
  else changes.replacedNotListed += 1;
}

/**
 * Reads rsync's stdout as it comes: progress updates (ending in \r) and itemized changes (ending
 * in \n), in one pass, holding nothing but counters (a first copy itemizes every file).
 */
export function outputReader(options: {
  onProgress?: (progress: SyncProgress) => void;
  changes?: SyncChanges;
}): (text: string) => void {
  let pending = '';
  return (text) => {
    const lines = (pending + text).split(/[\r\n]/);
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (options.changes && countItem(line, options.changes)) continue;
      const progress = options.onProgress ? parseProgressLine(line) : null;
      if (progress) options.onProgress?.(progress);
    }
  };
}
