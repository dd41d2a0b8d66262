import { execa } from 'execa';
import { psql, startDatabase } from './containers.js';
import type { Sandbox } from './sandbox.js';

/**
 * An Immich-like schema (the tables' names and shapes follow Immich's: "user", asset, album,
 * album_asset, with foreign keys, an index, a trigger function) filled with rows whose text holds
 * quotes, newlines and non-ASCII, so a dump that loses or mangles anything is caught.
 */
export const immichLikeSchema = `
CREATE TABLE "user" (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE NOT NULL,
  name text NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE asset (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "ownerId" uuid NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  "originalPath" text NOT NULL,
  "originalFileName" text NOT NULL,
  checksum bytea NOT NULL,
  "fileCreatedAt" timestamptz NOT NULL,
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX "IDX_asset_owner_created" ON asset ("ownerId", "fileCreatedAt");
CREATE TABLE album (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "ownerId" uuid NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  "albumName" text NOT NULL
);
CREATE TABLE album_asset (
  "albumId" uuid REFERENCES album(id) ON DELETE CASCADE,
  "assetId" uuid REFERENCES asset(id) ON DELETE CASCADE,
  PRIMARY KEY ("albumId", "assetId")
);
CREATE FUNCTION updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW."updatedAt" = now(); RETURN NEW; END $$;
CREATE TRIGGER asset_updated_at BEFORE UPDATE ON asset FOR EACH ROW EXECUTE FUNCTION updated_at();
`;

export function immichLikeRows(assets: number): string {
  return `
INSERT INTO "user" (email, name) VALUES
  ('gonzalo@example.com', 'Gonzalo'), ('ana@example.com', 'Ána O''Brien "the best"'), ('kid@example.com', E'Kid\\nwith newline 📷');
INSERT INTO asset ("ownerId", "originalPath", "originalFileName", checksum, "fileCreatedAt")
  SELECT (SELECT id FROM "user" ORDER BY email OFFSET (g % 3) LIMIT 1),
         '/data/library/admin/2024/IMG_' || g || '.jpg', 'IMG ''' || g || ''' ü.jpg',
         sha256(g::text::bytea), timestamptz '2024-01-01' + g * interval '1 hour'
  FROM generate_series(1, ${assets}) AS g;
INSERT INTO album ("ownerId", "albumName")
  SELECT (SELECT id FROM "user" ORDER BY email LIMIT 1), 'Album ' || g || ' – Ferien' FROM generate_series(1, 20) AS g;
INSERT INTO album_asset ("albumId", "assetId")
  SELECT album.id, asset.id FROM album JOIN LATERAL (SELECT id FROM asset ORDER BY id LIMIT 25 OFFSET 0) asset ON true;
`;
}

/** Row counts and a content fingerprint per table: equal fingerprints mean equal rows. */
export const fingerprintQuery = `
SELECT 'user', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM "user" t
UNION ALL SELECT 'asset', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM asset t
UNION ALL SELECT 'album', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM album t
UNION ALL SELECT 'album_asset', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t."albumId", t."assetId"), '')) FROM album_asset t;
`;

export async function seedImmichDatabase(
  container: string,
  assets = 2000,
  options: { user?: string; database?: string } = {},
): Promise<void> {
  await psql(container, immichLikeSchema + immichLikeRows(assets), options);
}

/**
 * A table of random text big enough to make the dump take seconds (about `megabytes` of SQL,
 * compressing about two to one), for interrupting a dump and for the benchmarks.
 */
export async function seedBigTable(container: string, megabytes: number): Promise<void> {
  const rows = Math.ceil((megabytes * 1024 * 1024) / 960);
  await psql(
    container,
    `CREATE TABLE IF NOT EXISTS big_payload (id int PRIMARY KEY, payload text NOT NULL);
     INSERT INTO big_payload SELECT g, (SELECT string_agg(md5(random()::text || g || s), '') FROM generate_series(1, 30) AS s) FROM generate_series(1, ${rows}) AS g;`,
  );
}

export async function fingerprint(
  container: string,
  options: { user?: string; database?: string } = {},
): Promise<string> {
  return psql(container, fingerprintQuery, options);
}

/**
 * Restores a dump into a brand-new PostgreSQL the way Immich's docs do (gunzip, the search_path
 * fix with sed, psql into the database), and returns the fingerprint of what came back.
 */
export async function restoreIntoFreshDatabase(
  sandbox: Sandbox,
  dumpFile: string,
  options: { user?: string; database?: string } = {},
): Promise<string> {
  const user = options.user ?? 'postgres';
  const database = options.database ?? 'immich';
  const fresh = await startDatabase(sandbox, `restore-${Date.now()}`, { user, database });
  await execa('bash', [
    '-o',
    'pipefail',
    '-c',
    `gunzip --stdout -- "$1" | sed "s/SELECT pg_catalog.set_config('search_path', '', false);/SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);/g" | docker exec -i "$2" psql -X -q -v ON_ERROR_STOP=1 --dbname="$3" --username="$4" >/dev/null`,
    'restore',
    dumpFile,
    fresh,
    database,
    user,
  ]);
  return fingerprint(fresh, { user, database });
}
