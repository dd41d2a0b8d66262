import { createReadStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter, ExecOutput } from '../adapters/docker.js';

/** The line every pg_dump writes, which empties search_path for the rest of the session. */
const emptySearchPath = "SELECT pg_catalog.set_config('search_path', '', false);";
/** Immich's documented fix: Immich's functions and extensions need public on the path. */
const immichSearchPath = "SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);";

/**
 * The `sed` of Immich's restore instructions, as a stream: replaces the search_path line, and
 * passes every other byte through untouched (lines are handled as Latin-1, which maps each byte
 * to one character and back, so UTF-8 names come back byte for byte).
 */
export class SearchPathFix extends Transform {
  private pending = '';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.pending + chunk.toString('latin1');
    const lastNewline = text.lastIndexOf('\n');
    this.pending = text.slice(lastNewline + 1);
    if (lastNewline >= 0)
      this.push(
        Buffer.from(
          text.slice(0, lastNewline + 1).replaceAll(emptySearchPath, immichSearchPath),
          'latin1',
        ),
      );
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending)
      this.push(Buffer.from(this.pending.replaceAll(emptySearchPath, immichSearchPath), 'latin1'));
    callback();
  }
}

export interface RestoreTarget {
  container: string;
  user: string;
  database: string;
  password?: string;
}

/** SQL literal and identifier quoting for the few statements the agent writes itself. */
const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;
const identifier = (value: string): string => `"${value.replaceAll('"', '""')}"`;

/**
 * Restores a dump into the database container, the way Immich documents it:
 * - a `pg_dump` of one database (what the agent makes; what Immich ≥ 2.5 restores) goes into the
 *   database with `psql --single-transaction --set ON_ERROR_STOP=on`, after the other sessions are
 *   ended and the public schema is recreated, all in that one transaction: if anything fails,
 *   nothing of the live database has changed;
 * - a legacy `pg_dumpall` cluster dump (the old scripts') goes into `postgres`, as the older
 *   instructions do; it drops and recreates the database itself, so it cannot be one transaction.
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
  const dump = createReadStream(dumpFile).pipe(createGunzip()).pipe(new SearchPathFix());
  if (format === 'pg_dump') {
    const prefix =
      terminate +
      'DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n' +
      `GRANT ALL ON SCHEMA public TO ${identifier(target.user)};\nGRANT ALL ON SCHEMA public TO public;\n`;
    return docker.execWithInput(
      target.container,
      [
        'psql',
        '-X',
        '-q',
        '--single-transaction',
        '--set',
        'ON_ERROR_STOP=on',
        '--output=/dev/null',
        ...connection,
        `--dbname=${target.database}`,
      ],
      concat(prefix, dump),
      env,
    );
  }
  return docker.execWithInput(
    target.container,
    ['psql', '-X', '-q', '--output=/dev/null', ...connection, '--dbname=postgres'],
    concat(terminate, dump),
    env,
  );
}

function concat(prefix: string, rest: Readable): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(prefix, 'utf8');
      for await (const chunk of rest) yield chunk as Buffer;
    })(),
  );
}
