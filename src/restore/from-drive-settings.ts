import type { DumpFormat } from '../adapters/database-dump.js';
import { psqlArgs } from '../adapters/database-info.js';
import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError } from '../errors.js';
import { copyFields, endOfCopyData, parseCopyStatement } from '../verify/copy-text.js';
import { connectTarget } from '../verify/dump-connect.js';
import { readGzipLines } from '../verify/dump-lines.js';

/**
 * Immich's migrations that set the database's own search_path (`ALTER DATABASE … SET
 * search_path TO "$user", public, vectors`): v1's AddVectorsToSearchPath, v2's DropExtraIndexes.
 * pg_dump of one database does not carry a database's settings, so a dump restored into a new
 * database container loses it while its migration is recorded as done, and Immich never runs it
 * again. A restore from the drive puts back what those recorded migrations did.
 */
const searchPathMigrations = new Set([
  // Immich v1's typeorm table (`migrations`) names the class.
  'AddVectorsToSearchPath1707000751533',
  // Immich v2's Kysely table (`kysely_migrations`) names the file.
  '1746636476623-DropExtraIndexes',
]);
const migrationTables = new Set(['public.kysely_migrations', 'public.migrations']);

/** Whether the dump records one of those migrations as run. */
export async function dumpRanSearchPathMigration(
  dumpFile: string,
  format: DumpFormat,
  database: string,
  signal?: AbortSignal,
): Promise<boolean> {
  let found = false;
  let reading = format === 'pg_dump';
  /** Inside a table's data: the column of the migration's name, or -1 for another table. */
  let nameColumn: number | null = null;
  const end = Buffer.from(endOfCopyData, 'latin1');
  await readGzipLines(
    dumpFile,
    (bytes, whole) => {
      if (nameColumn !== null) {
        if (bytes.equals(end)) nameColumn = null;
        else if (reading && nameColumn >= 0 && whole) {
          const name = copyFields(bytes.toString('utf8'))[nameColumn];
          if (name && searchPathMigrations.has(name)) found = true;
        }
        return found;
      }
      if (bytes[0] === 0x5c && format === 'pg_dumpall') {
        const target = connectTarget(bytes.toString('utf8'));
        if (typeof target === 'string') reading = target === database;
        return false;
      }
      if (bytes[0] !== 0x43) return false;
      const statement = parseCopyStatement(bytes.toString('utf8'));
      if (statement === null) return false;
      const table = `${statement.schema ?? 'public'}.${statement.table}`;
      nameColumn = migrationTables.has(table) ? statement.columns.indexOf('name') : -1;
      return false;
    },
    { maxLineBytes: 64 * 1024, signal },
  );
  return found;
}

/** Puts back what Immich's search_path migration did (see above), in the restored database. */
export async function restoreSearchPath(
  docker: DockerAdapter,
  target: { container: string; user: string; database: string; password?: string },
): Promise<void> {
  const name = `"${target.database.replaceAll('"', '""')}"`;
  const env = target.password ? [`PGPASSWORD=${target.password}`] : [];
  const answer = await docker.execCollect(
    target.container,
    psqlArgs(
      target.user,
      target.database,
      `ALTER DATABASE ${name} SET search_path TO "$user", public, vectors;`,
    ),
    env,
  );
  if (answer.exitCode !== 0) {
    throw new AgentError(
      'RESTORE_FAILED',
      `The database's search_path could not be set as Immich's migration set it: ${answer.stderr.trim()}`,
      {
        step: 'restore',
        hint: `Run it yourself: docker exec -it ${target.container} psql -U ${target.user} -d ${target.database} -c 'ALTER DATABASE ${name} SET search_path TO "$user", public, vectors;'`,
      },
    );
  }
}
