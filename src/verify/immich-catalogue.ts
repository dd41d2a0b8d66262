import path from 'node:path';
import { defaultUploadMounts } from '../model/immich-paths.js';

/**
 * What Immich's database says about the files it keeps: every asset's original with the SHA-1
 * Immich computed at upload, and the other files it references. Read from a dump on the drive
 * (verify/dump-catalogue.ts) or from the live database (adapters/immich-checksums.ts); the
 * paths are Immich's, inside the server container, and become library paths only through
 * `libraryPathOf`.
 */

/** `asset."checksumAlgorithm"` (Immich ≥ 2.7): sha1 of the content, or sha1-path of the path. */
export type ChecksumAlgorithm = 'sha1' | 'sha1-path';

export interface CatalogueAsset {
  id: string;
  /** As Immich stores it: the original's path inside the server container. */
  originalPath: string;
  /** The checksum as 40 lowercase hex digits; null when the row holds no 20-byte value. */
  checksum: string | null;
  /** null in schemas before the column (a content SHA-1 then, except for external assets). */
  algorithm: ChecksumAlgorithm | null;
  isExternal: boolean;
  /** In Immich's trash (deletedAt set): the original is still kept until the trash is emptied. */
  trashed: boolean;
}

/** Files an asset, person or user has besides an original. */
export type ReferencedKind =
  | 'sidecar'
  | 'profile'
  | 'person'
  | 'thumbnail'
  | 'preview'
  | 'fullsize'
  | 'encoded_video'
  | 'other';

export interface ReferencedFile {
  kind: ReferencedKind;
  /** Immich's path, inside the server container. */
  path: string;
}

/** Kinds Immich makes again from the original (its jobs regenerate them): never a loss. */
export const regenerableKinds: ReadonlySet<ReferencedKind> = new Set([
  'thumbnail',
  'preview',
  'fullsize',
  'encoded_video',
]);

/** Is the asset's checksum the SHA-1 of its original's content (what a read-back can check)? */
export function hasContentChecksum<
  T extends { checksum: string | null; algorithm: string | null; isExternal: boolean },
>(asset: T): asset is T & { checksum: string } {
  if (asset.checksum === null) return false;
  if (asset.algorithm !== null) return asset.algorithm === 'sha1';
  return !asset.isExternal;
}

export { defaultUploadMounts };

/**
 * The library-relative path of a path Immich stored, or null when it is outside the library
 * (an external library's original, or a path that is not a clean one: `..`, NUL, relative
 * outside `upload/`). Very old Immich stored paths relative to /usr/src/app (`upload/…`).
 * The result never starts with `/` or holds `..`: it is safe to look up under files/.
 */
export function libraryPathOf(
  immichPath: string,
  uploadMounts: readonly string[] = defaultUploadMounts,
): string | null {
  if (immichPath === '' || immichPath.includes('\0')) return null;
  const absolute = immichPath.startsWith('/') ? immichPath : `/usr/src/app/${immichPath}`;
  if (absolute.split('/').some((part) => part === '..' || part === '.')) return null;
  const normal = path.posix.normalize(absolute);
  const mounts = immichPath.startsWith('/') ? uploadMounts : ['/usr/src/app/upload'];
  for (const mount of mounts) {
    const prefix = mount.endsWith('/') ? mount : `${mount}/`;
    if (normal.startsWith(prefix) && normal.length > prefix.length) {
      const relative = normal.slice(prefix.length);
      return relative.endsWith('/') ? null : relative;
    }
  }
  return null;
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
