import path from 'node:path';
import { AgentError } from '../errors.js';
import { NotFollowed } from '../restore/no-follow.js';
import type { DumpFormat } from '../model/dump-format.js';
import { copyFields, endOfCopyData, parseCopyStatement } from './copy-text.js';
import { clusterDumpHeader, clusterHeaderLines, connectTarget } from './dump-connect.js';
import { readGzipLines } from './dump-lines.js';
import { immichFileTables, MissingColumn, rowReader, type RowReader } from './dump-tables.js';
import type { CatalogueAsset, ReferencedFile } from './immich-catalogue.js';

export interface DumpCatalogueOptions {
  /** The database whose tables are read, in a cluster dump (pg_dumpall); ignored in a pg_dump. */
  database: string;
  signal?: AbortSignal;
  /** Every asset row, as it streams by (nothing is held). */
  onAsset(asset: CatalogueAsset): void;
  /** Every other file a row references (sidecars, person thumbnails, profile images, …). */
  onReferenced?(file: ReferencedFile): void;
  /**
   * The dump's kind when the caller knows it (verifyDump says); otherwise a cluster dump is
   * told by pg_dumpall's header.
   */
  format?: DumpFormat;
}

export interface DumpCatalogueSummary {
  assets: number;
  referenced: number;
  /** The asset table found (`public.asset`, or `public.assets` in older Immich); null: none. */
  assetTable: string | null;
}

/**
 * The longest line held whole. Rows of the tables read are short (ids, paths, a checksum);
 * longer lines (embeddings, big JSON in other tables) are only looked at by their start.
 */
const maxLineBytes = 16 * 1024 * 1024;

const endOfCopyBytes = Buffer.from(endOfCopyData, 'latin1');

/**
 * Streams a .sql.gz dump on the drive and reports every asset of Immich's asset table (and the
 * other files its tables reference: asset_file, person, user) without holding them, so the
 * drive can be checked against Immich's own SHA-1s when Immich is stopped or gone. Reads the
 * COPY data pg_dump writes (PostgreSQL's text format, see copy-text.ts); in a cluster dump
 * (pg_dumpall) only the section of `options.database`. `dumpFile` is a dump in the proven
 * backup folder, opened through that folder without following any link (openDumpFile). A dump that cannot be read, is damaged or holds no asset table throws VERIFY_FAILED;
 * an abort throws INTERRUPTED.
 */
export async function readDumpCatalogue(
  dumpFile: string,
  options: DumpCatalogueOptions,
): Promise<DumpCatalogueSummary> {
  const name = path.basename(dumpFile);
  const summary: DumpCatalogueSummary = { assets: 0, referenced: 0, assetTable: null };
  const sinks = {
    onAsset(asset: CatalogueAsset): void {
      summary.assets += 1;
      passOn(() => options.onAsset(asset));
    },
    onReferenced(file: ReferencedFile): void {
      summary.referenced += 1;
      passOn(() => options.onReferenced?.(file));
    },
  };
  let cluster = options.format === 'pg_dumpall';
  /** In a cluster dump: whether the section being read is the database's. */
  let readTarget = false;
  /** Inside a table's data: how to read its rows (null: a table not read), its name, columns. */
  let copy: { read: RowReader | null; table: string; columns: number } | null = null;
  let lineNumber = 0;

  const onLine = (bytes: Buffer, whole: boolean): boolean => {
    lineNumber += 1;
    if (copy !== null) {
      // Most lines: rows of tables not read, looked at only to find their end.
      if (bytes.equals(endOfCopyBytes)) {
        copy = null;
        return false;
      }
      if (copy.read === null) return false;
      if (!whole) throw damaged(`a row of ${copy.table} is longer than ${maxLineBytes} bytes`);
      const fields = copyFields(bytes.toString('utf8'));
      if (fields.length !== copy.columns)
        throw damaged(
          `a row of ${copy.table} has ${fields.length} fields instead of ${copy.columns}`,
        );
      copy.read(fields);
      return false;
    }
    const first = bytes[0];
    // Only `COPY …`, `\connect …` and the header matter outside table data.
    if (first !== 0x43 && first !== 0x5c && first !== 0x2d) return false;
    const line = bytes.toString('utf8');
    if (line === clusterDumpHeader) {
      if (options.format === undefined && lineNumber <= clusterHeaderLines) cluster = true;
      return false;
    }
    const target = cluster ? connectTarget(line) : undefined;
    // A `\connect` naming no database stays on the same one.
    if (target === null) return false;
    if (target !== undefined) {
      // pg_dumpall writes each database once: leaving the one read, nothing more is to come.
      if (readTarget && target !== options.database) return true;
      readTarget = target === options.database;
      return false;
    }
    if (!line.startsWith('COPY ')) return false;
    const statement = parseCopyStatement(line);
    if (statement === null) throw damaged(`a COPY line cannot be read: ${line.slice(0, 200)}`);
    copy = { read: null, table: statement.table, columns: statement.columns.length };
    const kind = Object.hasOwn(immichFileTables, statement.table)
      ? immichFileTables[statement.table]
      : undefined;
    const inSection = !cluster || readTarget;
    if (kind === undefined || !inSection || (statement.schema ?? 'public') !== 'public')
      return false;
    const table = statement.schema === null ? statement.table : `public.${statement.table}`;
    copy.read = rowReader(kind, table, statement.columns, sinks);
    if (kind === 'asset') summary.assetTable = table;
    return false;
  };

  const damaged = (what: string): AgentError =>
    new AgentError(
      'VERIFY_FAILED',
      `The dump ${name} cannot be read: ${what} (line ${lineNumber}).`,
      {
        step: 'verify',
        hint: 'The dump on the drive is damaged or is not a dump of Immich. Run `verify` to check it; the next backup writes a new one.',
      },
    );

  try {
    await readGzipLines(dumpFile, onLine, { maxLineBytes, signal: options.signal });
  } catch (error) {
    // What the caller's own callbacks threw is theirs, not a fault of the dump.
    if (error instanceof CallerError) throw error.cause;
    throw readFailure(error, name, options.signal, lineNumber);
  }
  if (copy !== null)
    throw damaged(`it ends inside the data of ${(copy as { table: string }).table}`);
  if (summary.assetTable === null) {
    throw new AgentError(
      'VERIFY_FAILED',
      `The dump ${name} holds no asset table${cluster ? ` in the database ${options.database}` : ''}: it is not a dump of Immich's database.`,
      {
        step: 'verify',
        hint: cluster
          ? `Check immich.databaseName: a cluster dump holds each database after a \\connect line to it.`
          : 'Check that the dump is of Immich’s database (immich.databaseName).',
      },
    );
  }
  return summary;
}

class CallerError extends Error {}

function passOn(call: () => void): void {
  try {
    call();
  } catch (error) {
    throw new CallerError('a callback failed', { cause: error });
  }
}

/** What went wrong reading the dump, as an AgentError (an abort as INTERRUPTED). */
function readFailure(
  error: unknown,
  name: string,
  signal: AbortSignal | undefined,
  lineNumber: number,
): AgentError {
  if (error instanceof AgentError) return error;
  if (signal?.aborted) {
    return new AgentError('INTERRUPTED', `Reading the dump ${name} was stopped.`, {
      step: 'verify',
      cause: error,
    });
  }
  if (error instanceof MissingColumn) {
    return new AgentError('VERIFY_FAILED', `The dump ${name} cannot be read: ${error.message}.`, {
      step: 'verify',
      hint: 'The dump is of an Immich this agent does not know, or is not of Immich.',
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    error instanceof NotFollowed
      ? `${error.entry === name ? 'it' : error.entry} ${error.why}${error.why === 'is a symlink' ? ' (not followed on the drive)' : ''}`
      : code === 'ENOENT'
        ? 'its folder is not there'
        : /^Z_/.test(code ?? '')
          ? `the gzip data is damaged after line ${lineNumber} (${(error as Error).message})`
          : (error as Error).message;
  return new AgentError('VERIFY_FAILED', `The dump ${name} cannot be read: ${why}.`, {
    step: 'verify',
    hint: 'Check the drive (`verify`); the next backup writes a new dump.',
    cause: error,
  });
}
