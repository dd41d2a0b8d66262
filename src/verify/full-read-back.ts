import path from 'node:path';
import { listDumps, pickDump } from '../drive-content/dumps.js';
import type { Logger } from '../log/logger.js';
import { NotFollowed, openFolder, openRegularFile } from '../restore/no-follow.js';
import { collectOriginals, type CatalogueSource } from './originals-catalogue.js';
import {
  fullCycleDone,
  newReadBackState,
  readReadBackState,
  writeReadBackState,
} from './read-back-state.js';
import { readBackOriginals, type NamedList } from './read-back.js';
import { damageCollector } from './rolling-read-back.js';

export interface FullReadBackReport {
  /** No original mismatched, missing, unreadable or replaced by something not a file. */
  ok: boolean;
  /** The dump whose checksums the originals were checked against. */
  dump: string;
  originals: {
    checked: number;
    bytes: number;
    durationMs: number;
    bytesPerSecond: number;
    mismatches: NamedList;
    missing: NamedList;
    /** A symlink, folder or special file where the original should be: not followed. */
    notFollowed: NamedList;
    unreadable: NamedList;
    /** Not on the drive because its filesystem refuses the name or size (not a fault). */
    notStorable: NamedList;
    /** Of the originals, in Immich's trash (still kept; counted). */
    trashed: number;
    /** In the library but without a content checksum (sha1-path, none): not checkable. */
    notCheckable: number;
  };
  /** Originals the backup does not reach: external libraries, by their top folders. */
  outside: { count: number; folders: string[] };
  /** Sidecars, profile images, person thumbnails: present, or named. */
  referenced: {
    present: number;
    missing: NamedList;
    notFollowed: NamedList;
    /** Thumbnails, previews, encoded videos: Immich makes them again, counted only. */
    regenerable: number;
    /** Referenced outside the library: counted. */
    outside: number;
  };
  /** The read was interrupted: nothing is complete, no cycle recorded. */
  interrupted: boolean;
}

export interface FullReadBackOptions {
  /** The dump of that day instead of the newest. */
  date?: string;
  source?: CatalogueSource;
  /** The dump's catalogue, when no source is given (verify/dump-catalogue.ts). */
  dumpSource: (dumpFile: string) => CatalogueSource;
  uploadMounts: readonly string[];
  notStored?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number; bytes: number }) => void;
  now: () => Date;
  stateDir: string;
  log: Logger;
}

/**
 * `verify --full`: every original on the drive read back against the SHA-1 Immich keeps for it
 * in the newest dump on the drive (no budget), every other file Immich could not make again
 * looked for, and what the backup cannot reach counted. Completes a read-back cycle of the drive.
 * The server keeps running: only the drive is read.
 */
export async function verifyOriginals(
  target: { backupDir: string; filesDir: string; filesystemType: string; uuid: string },
  options: FullReadBackOptions,
): Promise<FullReadBackReport> {
  const startedAt = options.now();
  const dumps = await listDumps(target.backupDir, options.log);
  const entry = pickDump(dumps, options.date);
  // Only the newest dump knows every original: an older one's read proves no whole cycle.
  const newest = entry.name === dumps.at(-1)?.name;
  const source = options.source ?? options.dumpSource(path.join(target.backupDir, entry.name));
  const catalogue = await collectOriginals(source, options.uploadMounts);
  const { found, ...collect } = damageCollector(options.notStored, target.filesystemType);
  const total = catalogue.originals.length;
  const read = await readBackOriginals(target.filesDir, catalogue.originals, {
    signal: options.signal,
    ...collect,
    onProgress: (progress) =>
      options.onProgress?.({ done: progress.items, total, bytes: progress.checkedBytes }),
  });
  const referenced = await lookForKept(target.filesDir, catalogue.kept);
  const interrupted = read.stoppedEarly;
  if (!interrupted && newest) {
    const state =
      (await readReadBackState(options.stateDir, target.uuid, startedAt)) ??
      newReadBackState(target.uuid, startedAt);
    await writeReadBackState(
      options.stateDir,
      fullCycleDone(state, startedAt, options.now(), found),
    );
  }
  return {
    ok:
      !interrupted &&
      read.mismatches.count +
        read.missing.count +
        read.notFollowed.count +
        read.unreadable.count ===
        0,
    dump: entry.name,
    originals: {
      checked: read.checkedFiles,
      bytes: read.checkedBytes,
      durationMs: read.durationMs,
      bytesPerSecond: read.bytesPerSecond,
      mismatches: read.mismatches,
      missing: read.missing,
      notFollowed: read.notFollowed,
      unreadable: read.unreadable,
      notStorable: read.notStorable,
      trashed: catalogue.trashed,
      notCheckable: catalogue.notCheckable,
    },
    outside: catalogue.outside,
    referenced: {
      ...referenced,
      regenerable: catalogue.regenerable,
      outside: catalogue.keptOutside,
    },
    interrupted,
  };
}

/** Are the kept files (sidecars, profile images, person thumbnails) on the drive? */
async function lookForKept(
  filesDir: string,
  kept: readonly { path: string }[],
): Promise<{ present: number; missing: NamedList; notFollowed: NamedList }> {
  const result = {
    present: 0,
    missing: { count: 0, names: [] as string[] },
    notFollowed: { count: 0, names: [] as string[] },
  };
  const name = (list: NamedList, entry: string): void => {
    list.count += 1;
    if (list.names.length < 1000) list.names.push(entry);
  };
  const files = await openFolder(filesDir);
  try {
    for (const file of kept) {
      try {
        await (await openRegularFile(files, file.path)).close();
        result.present += 1;
      } catch (error) {
        if (!(error instanceof NotFollowed)) throw error;
        if (error.why === 'is not there') name(result.missing, file.path);
        else name(result.notFollowed, `${file.path} (${error.message})`);
      }
    }
  } finally {
    await files.close();
  }
  return result;
}
