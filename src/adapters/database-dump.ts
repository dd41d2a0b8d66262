import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../errors.js';
import { fsyncDirectory, temporaryNameFor } from '../files/atomic-files.js';
import { driveWriteError } from './drive-errors.js';
import type { ExitCodeTable } from './process.js';
import { dumpCheckFor, immichTableKinds, PlainDumpCheck, type DumpFormat } from './dump-check.js';
import { InflateCheck } from './inflate-check.js';
import { ParallelGzip } from './parallel-gzip.js';

export { clusterDumpTrailer, dumpTrailer, type DumpFormat } from './dump-check.js';
import type { DockerAdapter } from './docker.js';
import { databaseConninfo } from './database-info.js';

export interface DumpRequest {
  container: string;
  user: string;
  database: string;
  /** Passed as PGPASSWORD in the exec's environment, never as an argument. */
  password: string | undefined;
  /** Final path of the .sql.gz on the drive. */
  file: string;
  /** Unique tag for the temporary name (the run id). */
  tag: string;
  signal?: AbortSignal;
  /** Called with the compressed bytes written so far. */
  onProgress?: (bytesWritten: number) => void;
}

export interface DumpResult {
  file: string;
  bytes: number;
  sha256: string;
  uncompressedBytes: number;
  format: DumpFormat;
}

/**
 * `pg_dump --clean --if-exists` of one database, run inside the database container (the format
 * Immich ≥ 2.5 restores), streamed with backpressure through gzip into a temporary file on the
 * drive, flushed, then checked (the SQL not empty and ending with pg_dump's trailer, every
 * compressed byte on the drive) before it is renamed
 * over the final name. Any failure removes the temporary file, so a failed dump never replaces,
 * or sits beside, a good one under a final name.
 */
export async function dumpDatabase(
  docker: DockerAdapter,
  request: DumpRequest,
): Promise<DumpResult> {
  const temporary = temporaryNameFor(request.file, request.tag);
  try {
    const handle = await docker.exec(
      request.container,
      [
        'pg_dump',
        '--clean',
        '--if-exists',
        `--username=${request.user}`,
        '--no-password',
        // A value, never a positional that could be an option or a connection string.
        `--dbname=${databaseConninfo(request.database)}`,
      ],
      request.password ? [`PGPASSWORD=${request.password}`] : [],
    );
    const hash = createHash('sha256');
    let bytes = 0;
    // The SQL is checked (not empty, pg_dump's trailer, Immich's tables) on its way into the
    // compressor, and the compressed bytes are hashed, counted and decompressed again on their
    // way to the drive. The compressor's own threads do the heavy part.
    const check = new PlainDumpCheck(path.basename(request.file));
    // And the compressed bytes decompressed again, independently of the compressor.
    const inflate = new InflateCheck();
    const onTheWay = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        request.onProgress?.(bytes);
        inflate.write(chunk).then(() => callback(null, chunk), callback);
      },
    });
    try {
      await pipeline(
        handle.stdout,
        new ParallelGzip({ observe: (plain) => check.write(plain) }),
        onTheWay,
        // flush: the data is on the drive, not in the page cache, before it is renamed.
        createWriteStream(temporary, { flags: 'wx', mode: 0o600, flush: true }),
        { signal: request.signal },
      );
    } catch (error) {
      inflate.destroy();
      if (request.signal?.aborted) throw interrupted(error);
      throw (
        driveWriteError(error, path.basename(request.file), 'dump', path.dirname(request.file)) ??
        new AgentError(
          'DUMP_FAILED',
          `The database dump stopped: ${(error as Error).message}. ${handle.stderr().trim()}`.trim(),
          {
            step: 'dump',
            cause: error,
          },
        )
      );
    }
    const exitCode = await handle.exitCode();
    if (exitCode !== 0) {
      throw new AgentError(
        'DUMP_FAILED',
        `pg_dump in ${request.container} exited with ${exitCode ?? 'no code'}: ${handle.stderr().trim() || 'no message'}`,
        {
          step: 'dump',
          hint: `Check that ${request.container} runs and that database "${request.database}" and user "${request.user}" exist.`,
        },
      );
    }
    const { format, uncompressedBytes, immichTables } = check.end();
    const inflated = await inflate.end().catch((error: unknown) => {
      throw new AgentError(
        'DUMP_FAILED',
        `The compressed dump does not decompress: ${(error as Error).message}.`,
        { step: 'dump', cause: error, hint: 'The earlier dumps on the drive were kept.' },
      );
    });
    if (inflated !== uncompressedBytes) {
      throw new AgentError(
        'DUMP_FAILED',
        `The compressed dump decompresses to ${inflated} bytes, not the ${uncompressedBytes} of SQL pg_dump wrote.`,
        { step: 'dump', hint: 'The earlier dumps on the drive were kept.' },
      );
    }
    await assertAllWritten(temporary, bytes, path.basename(request.file));
    // A complete dump of another database (a name in .env that is not Immich's) must not
    // replace the day's good dump.
    if (immichTables.length < immichTableKinds.length) {
      throw new AgentError(
        'DUMP_FAILED',
        `The dump of database "${request.database}" in ${request.container} is complete but not Immich's: it has no ${immichTableKinds.filter((kind) => !immichTables.includes(kind)).join(' or ')} table.`,
        {
          step: 'dump',
          hint: `Check DB_DATABASE_NAME in Immich's .env (or immich.databaseName): it must name Immich's database. The earlier dumps on the drive were kept.`,
        },
      );
    }
    await rename(temporary, request.file);
    await fsyncDirectory(path.dirname(request.file));
    return { file: request.file, bytes, sha256: hash.digest('hex'), uncompressedBytes, format };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * psql(1) EXIT STATUS, for a dump fed to it on stdin: anything but 0 means the restore did not
 * go through (with ON_ERROR_STOP, which a pg_dump restore uses, an SQL error is 3; a cluster
 * dump goes on past statement errors and still ends 0).
 */
export const psqlExits: ExitCodeTable = {
  0: { outcome: 'ok', meaning: 'the whole input went in' },
  1: { outcome: 'error', meaning: 'a fatal error of psql itself (out of memory, file not found)' },
  2: { outcome: 'error', meaning: 'the connection to the server went bad' },
  3: { outcome: 'error', meaning: 'an error in the SQL, with ON_ERROR_STOP' },
};

/**
 * Reads a .sql.gz back from the drive and checks it (see DumpCheck): `verify`, restore plans,
 * and dumps the agent did not make.
 */
export async function verifyDump(
  file: string,
  signal?: AbortSignal,
): Promise<{ uncompressedBytes: number; format: DumpFormat }> {
  const check = dumpCheckFor(file);
  try {
    await pipeline(
      createReadStream(file),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          check.write(chunk).then(() => callback(), callback);
        },
      }),
      { signal },
    );
  } catch (error) {
    check.destroy();
    if (signal?.aborted) throw interrupted(error);
    if (error instanceof AgentError) throw error;
    throw new AgentError(
      'DUMP_FAILED',
      `The dump ${path.basename(file)} cannot be read: ${(error as Error).message}.`,
      { step: 'dump', cause: error },
    );
  }
  return check.end();
}

/** What the drive holds is every byte that was hashed: nothing lost between the two. */
async function assertAllWritten(file: string, bytes: number, name: string): Promise<void> {
  const { size } = await stat(file);
  if (size !== bytes) {
    throw new AgentError(
      'DUMP_FAILED',
      `The dump ${name} was written incompletely: ${size} of ${bytes} bytes are on the drive.`,
      { step: 'dump' },
    );
  }
}

function interrupted(error: unknown): AgentError {
  return new AgentError(
    'INTERRUPTED',
    'The database dump was stopped because the run was interrupted.',
    {
      step: 'dump',
      cause: error,
    },
  );
}
