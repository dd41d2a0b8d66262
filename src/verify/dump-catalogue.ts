import type { CatalogueAsset, ReferencedFile } from './immich-catalogue.js';

export interface DumpCatalogueOptions {
  /** The database whose tables are read, in a cluster dump (pg_dumpall); ignored in a pg_dump. */
  database: string;
  signal?: AbortSignal;
  /** Every asset row, as it streams by (nothing is held). */
  onAsset(asset: CatalogueAsset): void;
  /** Every other file a row references (sidecars, person thumbnails, profile images, …). */
  onReferenced?(file: ReferencedFile): void;
}

export interface DumpCatalogueSummary {
  assets: number;
  referenced: number;
  /** The asset table found (`public.asset`, or `public.assets` in older Immich); null: none. */
  assetTable: string | null;
}

/**
 * Streams a .sql.gz dump on the drive and reports every asset of Immich's asset table (and the
 * other files its tables reference) without holding them. Being built (issue 16).
 */
export function readDumpCatalogue(
  dumpFile: string,
  options: DumpCatalogueOptions,
): Promise<DumpCatalogueSummary> {
  void dumpFile;
  void options;
  return Promise.reject(new Error('readDumpCatalogue is being built'));
}
