import { sha1Hex } from './copy-text.js';
import type {
  CatalogueAsset,
  ChecksumAlgorithm,
  ReferencedFile,
  ReferencedKind,
} from './immich-catalogue.js';

/**
 * Immich's tables that name files, by every name they had (TypeORM's plural names until Immich
 * renamed them: `assets` → `asset`, `asset_files` → `asset_file`, `users` → `user`), and how a
 * row of each becomes assets and referenced files. Columns are found by name in the COPY line,
 * so a column Immich added or dropped over time (`checksumAlgorithm`, `sidecarPath`, …) is
 * simply there or not.
 */

export interface RowSinks {
  onAsset(asset: CatalogueAsset): void;
  onReferenced(file: ReferencedFile): void;
}

/** A row's fields, as many as the COPY line has columns; returns what it reported. */
export type RowReader = (fields: readonly (string | null)[]) => void;

export type TableKind = 'asset' | 'asset_file' | 'person' | 'user';

export const immichFileTables: Readonly<Record<string, TableKind>> = {
  asset: 'asset',
  assets: 'asset',
  asset_file: 'asset_file',
  asset_files: 'asset_file',
  person: 'person',
  user: 'user',
  users: 'user',
};

/** Paths older Immich kept on the asset row itself, before they moved to asset_files. */
const assetRowFiles: readonly [string, ReferencedKind][] = [
  ['sidecarPath', 'sidecar'],
  ['encodedVideoPath', 'encoded_video'],
  ['thumbnailPath', 'thumbnail'],
  ['webpPath', 'thumbnail'],
  ['previewPath', 'preview'],
  ['resizePath', 'preview'],
];

const assetFileKinds: ReadonlySet<string> = new Set([
  'thumbnail',
  'preview',
  'fullsize',
  'encoded_video',
  'sidecar',
]);

/** A column the reader needs is not in the table's COPY line. */
export class MissingColumn extends Error {
  constructor(
    readonly table: string,
    readonly column: string,
  ) {
    super(`the table ${table} has no column ${column}`);
  }
}

/**
 * How to read the rows of `table` (one of immichFileTables) with these columns. The asset table
 * must have what makes an asset (MissingColumn otherwise); a table of other files without its
 * path column names no file (null: its rows are skipped).
 */
export function rowReader(
  kind: TableKind,
  table: string,
  columns: string[],
  sinks: RowSinks,
): RowReader | null {
  const at = (column: string): number | null => {
    const index = columns.indexOf(column);
    return index === -1 ? null : index;
  };
  const need = (column: string): number => {
    const index = at(column);
    if (index === null) throw new MissingColumn(table, column);
    return index;
  };
  const referenced = (kind: ReferencedKind, path: string | null | undefined): void => {
    // An empty path (a user without a profile picture) or NULL is no file.
    if (path) sinks.onReferenced({ kind, path });
  };
  switch (kind) {
    case 'asset': {
      const id = need('id');
      const originalPath = need('originalPath');
      const checksum = need('checksum');
      const algorithm = at('checksumAlgorithm');
      const isExternal = at('isExternal');
      const deletedAt = at('deletedAt');
      const files = assetRowFiles.flatMap(([column, fileKind]) => {
        const index = at(column);
        return index === null ? [] : [[index, fileKind] as const];
      });
      return (fields: readonly (string | null)[]): void => {
        const read = checksumOf(
          fields[checksum] ?? null,
          algorithm === null ? null : fields[algorithm],
        );
        sinks.onAsset({
          id: fields[id] ?? '',
          originalPath: fields[originalPath] ?? '',
          checksum: read.checksum,
          algorithm: read.algorithm,
          isExternal: isExternal !== null && fields[isExternal] === 't',
          trashed: deletedAt !== null && fields[deletedAt] !== null,
        });
        for (const [index, fileKind] of files) referenced(fileKind, fields[index]);
      };
    }
    case 'asset_file': {
      const type = at('type');
      const path = at('path');
      if (type === null || path === null) return null;
      return (fields: readonly (string | null)[]): void => {
        const value = fields[type] ?? '';
        referenced(assetFileKinds.has(value) ? (value as ReferencedKind) : 'other', fields[path]);
      };
    }
    case 'person': {
      const path = at('thumbnailPath');
      if (path === null) return null;
      return (fields: readonly (string | null)[]): void => referenced('person', fields[path]);
    }
    case 'user': {
      const path = at('profileImagePath');
      if (path === null) return null;
      return (fields: readonly (string | null)[]): void => referenced('profile', fields[path]);
    }
  }
}

/**
 * The checksum and its algorithm. An algorithm this reader does not know (a later Immich's)
 * leaves the checksum null: it cannot be checked, and must not be taken for a SHA-1.
 */
function checksumOf(
  field: string | null,
  algorithm: string | null | undefined,
): { checksum: string | null; algorithm: ChecksumAlgorithm | null } {
  if (algorithm === undefined || algorithm === null)
    return { checksum: sha1Hex(field), algorithm: null };
  if (algorithm === 'sha1' || algorithm === 'sha1-path')
    return { checksum: sha1Hex(field), algorithm };
  return { checksum: null, algorithm: null };
}
