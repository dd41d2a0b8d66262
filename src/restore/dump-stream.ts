import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter, ExecOutput } from '../adapters/docker.js';
import { databaseConninfo } from '../adapters/database-info.js';
import { AgentError } from '../errors.js';
import { SearchPathFix } from './search-path-fix.js';

export interface RestoreTarget {
  container: string;
  user: string;
  database: string;
  password?: string;
}

/** SQL literal quoting for the few statements the agent writes itself. */
const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * The public schema as a new database has it (PostgreSQL ≥ 15: owned by pg_database_owner,
 * PUBLIC may only use it; before 15: owned by the bootstrap superuser, PUBLIC may create in
 * it), with its standard comment. pg_dump writes only how a dumped database's public schema
 * differs from that, so the dump then puts back exactly what the backed-up database had;
 * Immich's own `GRANT ALL … TO public` would let every role create objects in it, which
 * PostgreSQL 15 stopped allowing on purpose.
 */
export const recreatePublicSchema = `DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
DO $reset$
BEGIN
  IF current_setting('server_version_num')::int >= 150000 THEN
    EXECUTE 'ALTER SCHEMA public OWNER TO pg_database_owner';
    EXECUTE 'GRANT USAGE ON SCHEMA public TO PUBLIC';
  ELSE
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', (SELECT rolname FROM pg_roles WHERE oid = 10));
    EXECUTE 'GRANT ALL ON SCHEMA public TO PUBLIC';
  END IF;
END
$reset$;
COMMENT ON SCHEMA public IS 'standard public schema';
`;

/**
 * Restores a dump into the database container, the way Immich documents it:
 * - a `pg_dump` of one database (what the agent makes; what Immich ≥ 2.5 restores) goes into the
 *   database in one transaction, after the other sessions are ended and the public schema is
 *   recreated as a new database has it. The transaction is committed only after the last byte
 *   of the dump went in: if psql stops at an error, or the dump cannot be read to its end (a
 *   drive that fails half-way), nothing of the live database has changed;
 * - a legacy `pg_dumpall` cluster dump (the old scripts') goes into `postgres`, as the older
 *   instructions do; it drops and recreates the database itself, so it cannot be one transaction.
 * The dump file is closed when this returns, whatever happened (a drive with an open file on it
 * cannot be unmounted).
 */
export async function restoreDump(
  docker: DockerAdapter,
  dumpFile: string,
  format: DumpFormat,
  target: RestoreTarget,
): Promise<ExecOutput> {
  const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(target.database)} AND pid <> pg_backend_pid();\n`;
  const env = target.password ? [`PGPASSWORD=${target.password}`] : [];
  const connection = ['--no-password', `--username=${target.user}`];
  const file = createReadStream(dumpFile);
  const fix = new SearchPathFix(format);
  // An error anywhere in the chain destroys all of it; the reader of `fix` sees the error.
  let unreadable: Error | null = null;
  pipeline(file, createGunzip(), fix, (error) => {
    unreadable ??= error ?? null;
  });
  try {
    let result: ExecOutput;
    try {
      result = await feed();
    } catch (error) {
      throw brokenOff(unreadable, format) ?? error;
    }
    // psql may have ended well on a dump cut short: without its COMMIT nothing was kept.
    const broken = brokenOff(unreadable, format);
    if (broken) throw broken;
    return result;
  } finally {
    fix.destroy();
    if (!file.closed) {
      // Only its closing is awaited: an error it may still emit (the chain torn down from
      // psql's end) was already seen by the pipeline above.
      const closed = new Promise<void>((resolve) => file.once('close', () => resolve()));
      file.destroy();
      await closed;
    }
  }

  async function feed(): Promise<ExecOutput> {
    if (format === 'pg_dump') {
      return docker.execWithInput(
        target.container,
        [
          'psql',
          '-X',
          '-q',
          '--set',
          'ON_ERROR_STOP=on',
          '--output=/dev/null',
          ...connection,
          `--dbname=${databaseConninfo(target.database)}`,
        ],
        framed(`BEGIN;\n${terminate}${recreatePublicSchema}`, fix, 'COMMIT;\n'),
        env,
      );
    }
    return docker.execWithInput(
      target.container,
      [
        'psql',
        '-X',
        '-q',
        '--output=/dev/null',
        ...connection,
        `--dbname=${databaseConninfo('postgres')}`,
      ],
      framed(terminate, fix, ''),
      env,
    );
  }
}

/**
 * The dump broke off while it was fed to psql: reading the file failed (a drive failing
 * half-way: a system call's error) or gunzip did (a damaged dump: zlib's Z_… codes). Not when
 * psql stopped reading and the chain was torn down from its end (an abort, a premature close).
 */
function brokenOff(error: Error | null, format: DumpFormat): AgentError | null {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (error === null || (syscall === undefined && !/^Z_/.test(code ?? ''))) return null;
  return new AgentError(
    'RESTORE_FAILED',
    `The dump could not be read to its end: ${error.message}.`,
    {
      step: 'restore',
      hint:
        format === 'pg_dump'
          ? 'Nothing of it was committed: the database is as it was. Check the drive (verify), then run the restore again.'
          : 'A cluster dump restores statement by statement: part of it may have been applied. Check the drive (verify), then run the restore again.',
      cause: error,
    },
  );
}

/**
 * `prefix`, the dump, then `suffix`, which is sent only once the dump was read to its end: a
 * dump that breaks off never reaches the COMMIT (psql then ends with the transaction open,
 * and PostgreSQL rolls it back).
 */
function framed(prefix: string, rest: Readable, suffix: string): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(prefix, 'utf8');
      for await (const chunk of rest) yield chunk as Buffer;
      if (suffix) yield Buffer.from(suffix, 'utf8');
    })(),
  );
}
