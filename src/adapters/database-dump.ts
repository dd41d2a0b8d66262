import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AgentError } from '../errors.js';
import { fsyncDirectory, temporaryNameFor } from './atomic-files.js';
import { driveWriteError } from './drive-errors.js';
import type { DockerAdapter } from './docker.js';

/** pg_dump ends every complete plain-format dump with this comment. */
export const dumpTrailer = '-- PostgreSQL database dump complete';

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
 * drive, flushed, then checked (gzip intact, trailer present, not empty) before it is renamed
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
        request.database,
      ],
      request.password ? [`PGPASSWORD=${request.password}`] : [],
    );
    const hash = createHash('sha256');
    let bytes = 0;
    let uncompressedBytes = 0;
    const countRaw = tap((chunk) => (uncompressedBytes += chunk.length));
    const hashCompressed = tap((chunk) => {
      hash.update(chunk);
      bytes += chunk.length;
      request.onProgress?.(bytes);
    });
    try {
      await pipeline(
        handle.stdout,
        countRaw,
        createGzip(),
        hashCompressed,
        // flush: the data is on the drive, not in the page cache, before it is renamed.
        createWriteStream(temporary, { flags: 'wx', mode: 0o600, flush: true }),
        { signal: request.signal },
      );
    } catch (error) {
      if (request.signal?.aborted) throw interrupted(error);
      throw (
        driveWriteError(error, path.basename(request.file), 'dump') ??
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
    const { format } = await verifyDump(temporary, request.signal);
    await rename(temporary, request.file);
    await fsyncDirectory(path.dirname(request.file));
    return { file: request.file, bytes, sha256: hash.digest('hex'), uncompressedBytes, format };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export type DumpFormat = 'pg_dump' | 'pg_dumpall';

/** pg_dumpall ends a cluster dump with this line instead. */
export const clusterDumpTrailer = '-- PostgreSQL database cluster dump complete';

/**
 * Reads a .sql.gz back from the drive: the gzip stream must be intact, the content non-empty,
 * and pg_dump's completion trailer must be in its last few kilobytes (newer pg_dump versions
 * write a `\unrestrict` line after it). Also tells a dump of one database (pg_dump, what the
 * agent makes) from a whole-cluster dump (pg_dumpall, what the old scripts made).
 */
export async function verifyDump(
  file: string,
  signal?: AbortSignal,
): Promise<{ uncompressedBytes: number; format: DumpFormat }> {
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  let uncompressedBytes = 0;
  try {
    await pipeline(
      createReadStream(file),
      createGunzip(),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          uncompressedBytes += chunk.length;
          if (head.length < 4096) head = Buffer.concat([head, chunk]).subarray(0, 4096);
          tail = Buffer.concat([tail, chunk]).subarray(-8192);
          callback();
        },
      }),
      { signal },
    );
  } catch (error) {
    if (signal?.aborted) throw interrupted(error);
    throw new AgentError(
      'DUMP_FAILED',
      `The dump ${path.basename(file)} is damaged: ${(error as Error).message}.`,
      {
        step: 'dump',
        cause: error,
      },
    );
  }
  if (uncompressedBytes === 0) {
    throw new AgentError('DUMP_FAILED', `The dump ${path.basename(file)} is empty.`, {
      step: 'dump',
    });
  }
  const format: DumpFormat = head.toString('utf8').includes('PostgreSQL database cluster dump')
    ? 'pg_dumpall'
    : 'pg_dump';
  const trailer = format === 'pg_dumpall' ? clusterDumpTrailer : dumpTrailer;
  if (!tail.toString('utf8').includes(trailer)) {
    throw new AgentError(
      'DUMP_FAILED',
      `The dump ${path.basename(file)} is incomplete: ${format}’s completion trailer is missing.`,
      {
        step: 'dump',
      },
    );
  }
  return { uncompressedBytes, format };
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

/** A pass-through that looks at every chunk (counting, hashing) without holding it. */
function tap(look: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      look(chunk);
      callback(null, chunk);
    },
  });
}
