import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { libraryPathOf } from '../../src/verify/immich-catalogue.js';
import { psql } from './containers.js';

/** The uuid PostgreSQL makes of `md5(text)::uuid` (how the bed's rows derive their ids). */
export function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The content of an asset's original in the test library: derived from its id, 50 bytes to
 * about 3 KB, so that its SHA-1 (what Immich stores as the checksum) can be computed before the
 * file exists.
 */
export function originalContent(assetId: string): Buffer {
  const line = `Immich test photo ${assetId}\n`;
  return Buffer.from(line.repeat(1 + (parseInt(assetId.slice(0, 2), 16) % 64)));
}

export function sha1Hex(content: Buffer | string): string {
  return createHash('sha1').update(content).digest('hex');
}

export interface WrittenOriginals {
  /** Library-relative paths of the originals written, with the SHA-1 Immich has for them. */
  originals: Map<string, string>;
  /** Library-relative paths of the other files Immich references that were written. */
  others: string[];
}

/**
 * Writes into the library what Immich's database says is there: every asset's original that
 * lives in UPLOAD_LOCATION (external libraries' do not), with the content its checksum is of,
 * the XMP sidecars, the person thumbnails and the profile images. Thumbnails, previews and
 * encoded videos (regenerable) are left out, as a library whose jobs have not run has them.
 * In the older layout (plural tables, checksums that are not SHA-1s) the checksums are set
 * to the written content's SHA-1.
 */
export async function writeImmichOriginals(
  database: string,
  libraryDir: string,
  options: { olderSchema?: boolean } = {},
): Promise<WrittenOriginals> {
  const table = options.olderSchema ? 'assets' : 'asset';
  const external = options.olderSchema ? 'false' : '"isExternal"';
  const rows = await psql(
    database,
    `SELECT id || ',' || encode(convert_to("originalPath", 'UTF8'), 'hex') FROM ${table} WHERE NOT ${external}`,
  );
  const originals = new Map<string, string>();
  const updates: string[] = [];
  for (const line of rows.split('\n').filter(Boolean)) {
    const [id, encoded] = line.split(',') as [string, string];
    const relative = libraryPathOf(Buffer.from(encoded.trim(), 'hex').toString());
    if (relative === null) continue;
    const content = originalContent(id);
    await writeFileMaking(path.join(libraryDir, relative), content);
    originals.set(relative, sha1Hex(content));
    updates.push(`('${id}'::uuid, '\\x${sha1Hex(content)}'::bytea)`);
  }
  if (options.olderSchema) {
    await psql(
      database,
      `UPDATE assets SET checksum = v.checksum FROM (VALUES ${updates.join(',')}) AS v(id, checksum) WHERE assets.id = v.id`,
    );
    return { originals, others: [] };
  }
  const others = await psql(
    database,
    `SELECT encode(convert_to(p, 'UTF8'), 'hex') FROM (
       SELECT path AS p FROM asset_file WHERE type = 'sidecar'
       UNION ALL SELECT "thumbnailPath" FROM person WHERE "thumbnailPath" <> ''
       UNION ALL SELECT "profileImagePath" FROM "user" WHERE "profileImagePath" <> '') AS files`,
  );
  const written: string[] = [];
  for (const line of others.split('\n').filter(Boolean)) {
    const relative = libraryPathOf(Buffer.from(line.trim(), 'hex').toString());
    if (relative === null) continue;
    await writeFileMaking(path.join(libraryDir, relative), `referenced by Immich: ${relative}\n`);
    written.push(relative);
  }
  return { originals, others: written };
}

async function writeFileMaking(file: string, content: Buffer | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}
