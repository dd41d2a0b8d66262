import { readDumpCatalogue } from './dump-catalogue.js';
import {
  hasContentChecksum,
  libraryPathOf,
  regenerableKinds,
  type CatalogueAsset,
  type ReferencedFile,
  type ReferencedKind,
} from './immich-catalogue.js';
import { compareRing, ringPosition } from './read-back-ring.js';
import type { ReadBackItem } from './read-back.js';

/** An original the read-back can check: its place on the ring, where it is, Immich's SHA-1. */
export interface RingOriginal extends ReadBackItem {
  id: string;
  position: number;
}

/** What the database says the drive should hold, with only the originals kept per file. */
export interface OriginalsCatalogue {
  /** In ring order. About 360 bytes each (measured): 100,000 assets hold some 36 MB. */
  originals: RingOriginal[];
  /** Of those, in Immich's trash (kept on disk until the trash is emptied). */
  trashed: number;
  /** Originals outside the library (external libraries): the backup does not reach them. */
  outside: { count: number; folders: string[] };
  /** Inside the library but with no content checksum (sha1-path, none): not checkable. */
  notCheckable: number;
  /** Files other than originals that Immich can not make again: library paths, to look for. */
  kept: { kind: ReferencedKind; path: string }[];
  /** Files Immich makes again from the original (thumbnails, previews, videos): counted. */
  regenerable: number;
  /** References outside the library (null paths, other mounts): counted. */
  keptOutside: number;
}

/** Anything that reports a catalogue's rows: the dump reader, or a test's array. */
export type CatalogueSource = (handlers: {
  onAsset(asset: CatalogueAsset): void;
  onReferenced(file: ReferencedFile): void;
}) => Promise<unknown>;

/** The catalogue of a dump on the drive (the database named, in a pg_dumpall). */
export function dumpSource(dumpFile: string, database: string, signal?: AbortSignal) {
  return ((handlers) =>
    readDumpCatalogue(dumpFile, { database, signal, ...handlers })) satisfies CatalogueSource;
}

const foldersCap = 20;

/**
 * Reads a catalogue once: the originals the read-back can check, in ring order, and what it
 * can not (outside the library, no content checksum) counted, with the external libraries'
 * folders named. Only the other files Immich could not make again are kept by path.
 */
export async function collectOriginals(
  source: CatalogueSource,
  uploadMounts: readonly string[],
): Promise<OriginalsCatalogue> {
  const catalogue: OriginalsCatalogue = {
    originals: [],
    trashed: 0,
    outside: { count: 0, folders: [] },
    notCheckable: 0,
    kept: [],
    regenerable: 0,
    keptOutside: 0,
  };
  const outside = new OutsideFolders();
  const summary = await source({
    onAsset(asset) {
      const relative = asset.isExternal ? null : libraryPathOf(asset.originalPath, uploadMounts);
      if (relative === null) {
        catalogue.outside.count += 1;
        outside.add(asset.originalPath);
        return;
      }
      if (!hasContentChecksum(asset)) {
        catalogue.notCheckable += 1;
        return;
      }
      if (asset.trashed) catalogue.trashed += 1;
      catalogue.originals.push({
        id: asset.id,
        position: ringPosition(asset.id),
        path: relative,
        sha1: asset.checksum,
      });
    },
    onReferenced(file) {
      if (regenerableKinds.has(file.kind)) {
        catalogue.regenerable += 1;
        return;
      }
      const relative = libraryPathOf(file.path, uploadMounts);
      if (relative === null) catalogue.keptOutside += 1;
      else catalogue.kept.push({ kind: file.kind, path: relative });
    },
  });
  // A dump without Immich's asset table would pass as "nothing to check": it is not one.
  if ((summary as { assetTable?: string | null } | undefined)?.assetTable === null)
    throw new Error('the dump holds no Immich asset table to take the checksums from');
  catalogue.originals.sort(compareRing);
  catalogue.outside.folders = outside.folders();
  return catalogue;
}

/**
 * The distinct top folders of paths outside the library, as a person would name them: paths
 * are grouped by their first two components (/mnt/external), and each group is named by the
 * folder all its paths share ("/mnt/external/Photos 2019"). Bounded: at most 20 groups.
 */
export class OutsideFolders {
  private readonly groups = new Map<string, string[]>();

  add(immichPath: string): void {
    const parts = immichPath.split('/').slice(0, -1);
    const key = parts.slice(0, 3).join('/');
    const shared = this.groups.get(key);
    if (shared === undefined) {
      if (this.groups.size < foldersCap) this.groups.set(key, parts);
      return;
    }
    let length = 0;
    while (length < shared.length && shared[length] === parts[length]) length += 1;
    shared.length = length;
  }

  folders(): string[] {
    return [...this.groups.values()].map((parts) => parts.join('/') || '/').sort();
  }
}
