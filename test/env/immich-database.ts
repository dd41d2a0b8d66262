import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './cli.js';
import { psql, startDatabase } from './containers.js';
import { databaseSnapshot } from './database-snapshot.js';
import { immichRows } from './immich-rows.js';
import type { Sandbox } from './sandbox.js';

export { databaseSnapshot, diffSnapshots, type DatabaseSnapshot } from './database-snapshot.js';
export { searchPathLine } from './immich-rows.js';

/** Immich v2.7.5's real schema (pgvector), copied unchanged from the project's reference notes. */
export const immichSchemaFile = path.join(
  repoRoot,
  'test/fixtures/immich/immich-v2.7.5-pgvector.sql',
);

interface Connection {
  user?: string;
  database?: string;
}

export interface SeedTimes {
  schemaMs: number;
  rowsMs: number;
}

/**
 * Immich's real schema (61 tables, its extensions, functions, triggers, HNSW indexes), applied
 * the way its reference notes say (one transaction, stop at the first error), filled with
 * `assets` assets and everything Immich hangs off them (see immich-rows.ts).
 */
export async function seedImmichDatabase(
  container: string,
  assets = 2000,
  options: Connection = {},
): Promise<SeedTimes> {
  const database = options.database ?? 'immich';
  const started = Date.now();
  // The schema names its database once (ALTER DATABASE "immich" SET search_path …).
  const schema = (await readFile(immichSchemaFile, 'utf8')).replaceAll(
    'ALTER DATABASE "immich"',
    `ALTER DATABASE "${database.replaceAll('"', '""')}"`,
  );
  await psqlInTransaction(container, schema, options);
  const schemaDone = Date.now();
  await psqlInTransaction(container, immichRows(assets), options);
  return { schemaMs: schemaDone - started, rowsMs: Date.now() - schemaDone };
}

/** psql reading `sql` from stdin in one transaction; --single-transaction needs `-f` (or `-c`). */
async function psqlInTransaction(container: string, sql: string, options: Connection) {
  const user = `--username=${options.user ?? 'postgres'}`;
  const database = `--dbname=${options.database ?? 'immich'}`;
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'];
  await execa('docker', ['exec', '-i', container, 'psql', ...args, user, database], {
    input: sql,
    stdout: 'ignore',
  });
}

/**
 * An older Immich's layout, as versions before the table renames had it (TypeORM's plural names:
 * "users", "assets", "albums", "albums_assets_assets"), small but with foreign keys, an index, a
 * trigger function and rows whose text holds quotes, newlines and non-ASCII: for the few places
 * where an older layout matters (the drill counts the tables by either name).
 */
export const olderImmichSchema = `
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE NOT NULL,
  name text NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE assets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "ownerId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  "originalPath" text NOT NULL,
  "originalFileName" text NOT NULL,
  checksum bytea NOT NULL,
  "fileCreatedAt" timestamptz NOT NULL,
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX "IDX_assets_owner_created" ON assets ("ownerId", "fileCreatedAt");
CREATE TABLE albums (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "ownerId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  "albumName" text NOT NULL
);
CREATE TABLE albums_assets_assets (
  "albumsId" uuid REFERENCES albums(id) ON DELETE CASCADE,
  "assetsId" uuid REFERENCES assets(id) ON DELETE CASCADE,
  PRIMARY KEY ("albumsId", "assetsId")
);
CREATE FUNCTION updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW."updatedAt" = now(); RETURN NEW; END $$;
CREATE TRIGGER assets_updated_at BEFORE UPDATE ON assets FOR EACH ROW EXECUTE FUNCTION updated_at();
`;

export function olderImmichRows(assets: number): string {
  return `
INSERT INTO users (email, name) VALUES
  ('gonzalo@example.com', 'Gonzalo'), ('ana@example.com', 'Ána O''Brien "the best"'), ('kid@example.com', E'Kid\\nwith newline 📷');
INSERT INTO assets ("ownerId", "originalPath", "originalFileName", checksum, "fileCreatedAt")
  SELECT (SELECT id FROM users ORDER BY email OFFSET (g % 3) LIMIT 1),
         '/usr/src/app/upload/library/admin/2024/IMG_' || g || '.jpg', 'IMG ''' || g || ''' ü.jpg',
         sha256(g::text::bytea), timestamptz '2024-01-01' + g * interval '1 hour'
  FROM generate_series(1, ${assets}) AS g;
INSERT INTO albums ("ownerId", "albumName")
  SELECT (SELECT id FROM users ORDER BY email LIMIT 1), 'Album ' || g || ' – Ferien' FROM generate_series(1, 20) AS g;
INSERT INTO albums_assets_assets ("albumsId", "assetsId")
  SELECT albums.id, assets.id FROM albums JOIN LATERAL (SELECT id FROM assets ORDER BY id LIMIT 25) assets ON true;
`;
}

export async function seedOlderImmichDatabase(
  container: string,
  assets = 2000,
  options: Connection = {},
): Promise<void> {
  await psql(container, olderImmichSchema + olderImmichRows(assets), options);
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

/**
 * Row counts and a content hash of every table, as one string: equal strings mean equal rows
 * (the table part of databaseSnapshot; use that and diffSnapshots to learn what differs).
 */
export async function fingerprint(container: string, options: Connection = {}): Promise<string> {
  return JSON.stringify((await databaseSnapshot(container, options)).tables, null, 1);
}

/**
 * The sed of Immich's restore instructions, and the README's. Immich's rewrites pg_dump's line
 * wherever it appears, also inside a row (COPY data keeps a row on one line, quotes unescaped),
 * which the seed's first album holds; the README's rewrites only the first, the header's.
 */
export const searchPathSed = {
  documented:
    "s/SELECT pg_catalog.set_config('search_path', '', false);/SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);/g",
  /** The README's: only the first such line, the header's (read from the README itself). */
  readme: 'readme',
} as const;

/**
 * The sed expression of the README's restore-without-the-agent snippet, as a user copies it:
 * the double-quoted argument of its `| sed "…"` line, with the shell's `\$` undone.
 */
export async function readmeSed(): Promise<string> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const quoted = /^\s*\| sed "((?:[^"\\]|\\.)*)"/m.exec(readme)?.[1];
  if (!quoted) throw new Error('the README has no `| sed "…"` line in its restore snippet');
  return quoted.replace(/\\([$"\\`])/g, '$1');
}

export interface RestoreOptions extends Connection {
  /** Which sed (default: the README's; `documented` is Immich's exact command). */
  sed?: keyof typeof searchPathSed;
}

/**
 * Restores a dump the way Immich's docs do (gunzip | sed | docker exec -i psql) into a brand-new
 * container of the test image, once its real server is up (startDatabase waits for it), and
 * returns the container's name and what psql printed on stderr. psql stops at the first error.
 */
export async function restoreIntoFreshContainer(
  sandbox: Sandbox,
  dumpFile: string,
  options: RestoreOptions = {},
): Promise<{ container: string; stderr: string }> {
  const user = options.user ?? 'postgres';
  const database = options.database ?? 'immich';
  const role = `restore-${randomBytes(3).toString('hex')}`;
  const container = await startDatabase(sandbox, role, { user, database });
  const result = await execa('bash', [
    '-o',
    'pipefail',
    '-c',
    'gunzip --stdout -- "$1" | sed "$2" | docker exec -i "$3" psql -X -q -v ON_ERROR_STOP=1 --dbname="$4" --username="$5" >/dev/null',
    'restore',
    dumpFile,
    options.sed === 'documented' ? searchPathSed.documented : await readmeSed(),
    container,
    database,
    user,
  ]);
  return { container, stderr: result.stderr };
}

/** restoreIntoFreshContainer, then the fingerprint of what came back. */
export async function restoreIntoFreshDatabase(
  sandbox: Sandbox,
  dumpFile: string,
  options: RestoreOptions = {},
): Promise<string> {
  const { container } = await restoreIntoFreshContainer(sandbox, dumpFile, options);
  return fingerprint(container, options);
}
