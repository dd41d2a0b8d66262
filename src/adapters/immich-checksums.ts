import { Readable } from 'node:stream';
import { AgentError } from '../errors.js';
import { databaseConninfo } from './database-info.js';
import type { DockerAdapter } from './docker.js';

/**
 * Immich's own checksums of its originals, read from the live database: the rows of its asset
 * table (`asset`, or `assets` before the rename) whose `"originalPath"` is one of the paths
 * asked for. The paths are Immich's, inside its containers; the caller maps library paths to
 * them. psql runs inside the database container (the agent has no client of its own); the paths
 * go in on psql's stdin, base64-encoded, and come back as their position in the request, so a
 * name with quotes, newlines or emoji is never SQL, an argument, or a line of the output.
 */

export interface ImmichChecksum {
  /** `asset.checksum` as 40 lowercase hex digits; null when the row holds no 20-byte value. */
  checksum: string | null;
  /**
   * `"checksumAlgorithm"` as stored (Immich ≥ 2.7: `sha1` of the content, `sha1-path` of the
   * path); null in schemas before the column.
   */
  algorithm: string | null;
  /** An external library's asset (false in schemas before the column). */
  isExternal: boolean;
}

export interface ChecksumLookup {
  /** Every row whose originalPath is one of `paths`, by that path (paths without rows absent). */
  lookup(paths: readonly string[]): Promise<Map<string, ImmichChecksum[]>>;
}

export interface ChecksumLookupOptions {
  container: string;
  user: string;
  database: string;
  /** Passed as PGPASSWORD in the exec's environment, never as an argument. */
  password: string | undefined;
  /** Paths per psql call: keeps each answer well under what an exec's output is read to. */
  batchSize?: number;
  /** Stops waiting for psql (the run was interrupted). */
  signal?: AbortSignal;
  /** The whole lookup's time (default 5 minutes): past it, it fails (the copy goes ahead). */
  timeoutMs?: number;
  /** How long a statement waits for a lock (default 10 s): a migration holding one fails it. */
  lockTimeoutMs?: number;
}

interface AssetTable {
  name: 'asset' | 'assets';
  hasAlgorithm: boolean;
  hasExternal: boolean;
}

export function createChecksumLookup(
  docker: DockerAdapter,
  options: ChecksumLookupOptions,
): ChecksumLookup {
  const env = options.password ? [`PGPASSWORD=${options.password}`] : [];
  const batchSize = options.batchSize ?? 2000;
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  let table: AssetTable | null = null;
  let deadline = 0;

  const psql = async (script: string, what: string): Promise<string> => {
    const left = deadline - Date.now();
    if (left <= 0) throw tooLong(timeoutMs, what);
    // The session's own limits end psql in the container too: a SELECT queued behind a lock
    // (a migration) fails after lockTimeoutMs, any statement when the lookup's time is up.
    const limits = `SET lock_timeout = ${Math.min(lockTimeoutMs, left)}; SET statement_timeout = ${left};\n`;
    const exec = docker.execWithInput(
      options.container,
      [
        'psql',
        '-X',
        '-q',
        '-A',
        '-t',
        '--no-password',
        '-v',
        'ON_ERROR_STOP=1',
        `--username=${options.user}`,
        `--dbname=${databaseConninfo(options.database)}`,
      ],
      Readable.from([Buffer.from(limits + script, 'utf8')]),
      env,
    );
    const result = await within(exec, left, options.signal, () => tooLong(timeoutMs, what));
    if (result.exitCode !== 0) {
      throw new AgentError(
        'INTERNAL',
        `psql in ${options.container} could not ${what} (exit ${result.exitCode ?? 'unknown'}): ${result.stderr.trim() || 'no message'}`,
        {
          step: 'guard',
          hint: `Check that ${options.container} runs and that database "${options.database}" and user "${options.user}" exist.`,
        },
      );
    }
    return result.stdout;
  };

  const findTable = async (): Promise<AssetTable> => {
    const answer = await psql(
      `SELECT table_name, bool_or(column_name = 'checksumAlgorithm'), bool_or(column_name = 'isExternal')
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name IN ('asset', 'assets')
          AND column_name IN ('originalPath', 'checksum', 'checksumAlgorithm', 'isExternal')
        GROUP BY table_name HAVING count(*) FILTER (WHERE column_name IN ('originalPath', 'checksum')) = 2
        ORDER BY table_name;\n`,
      "find Immich's asset table",
    );
    const rows = answer
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('|'));
    // Both only mid-migration: the current name is the one Immich uses.
    const row = rows.find((fields) => fields[0] === 'asset') ?? rows[0];
    if (row?.[0] !== 'asset' && row?.[0] !== 'assets') {
      throw new AgentError(
        'INTERNAL',
        `Database "${options.database}" has no Immich asset table (asset or assets with originalPath and checksum).`,
        {
          step: 'guard',
          hint: 'Check DB_DATABASE_NAME in Immich’s .env (or immich.databaseName).',
        },
      );
    }
    return { name: row[0], hasAlgorithm: row[1] === 't', hasExternal: row[2] === 't' };
  };

  const lookupBatch = async (
    found: AssetTable,
    paths: readonly string[],
    into: Map<string, ImmichChecksum[]>,
  ): Promise<void> => {
    const algorithm = found.hasAlgorithm ? 'a."checksumAlgorithm"::text' : 'NULL';
    const external = found.hasExternal ? 'a."isExternal"' : 'false';
    // COPY's text format: a position, a tab, base64 (no tab, backslash or newline in either).
    const data = paths
      .map((item, index) => `${index}\t${Buffer.from(item, 'utf8').toString('base64')}\n`)
      .join('');
    const answer = await psql(
      `CREATE TEMP TABLE wanted (position integer, path text);
COPY wanted FROM STDIN;
${data}\\.
SELECT w.position, CASE WHEN length(a.checksum) = 20 THEN encode(a.checksum, 'hex') END, ${algorithm}, ${external}
  FROM wanted w JOIN public.${found.name} a ON a."originalPath" = convert_from(decode(w.path, 'base64'), 'UTF8');
SELECT 'end', count(*) FROM wanted;
`,
      "read Immich's checksums",
    );
    const lines = answer.split('\n').filter(Boolean);
    // The last line counts what psql was given: an answer cut short, or a script that stopped
    // early, has no such line, and is never taken for "no checksum".
    if (lines.pop() !== `end|${paths.length}`) {
      throw new AgentError(
        'INTERNAL',
        `psql's answer about ${paths.length} paths was incomplete.`,
        {
          step: 'guard',
        },
      );
    }
    for (const line of lines) {
      const [position, checksum, kind, isExternal] = line.split('|');
      const item = paths[Number(position)];
      if (item === undefined || !/^\d+$/.test(position ?? ''))
        throw new AgentError('INTERNAL', `psql answered an unexpected line: ${line.slice(0, 80)}`, {
          step: 'guard',
        });
      const rows = into.get(item) ?? [];
      rows.push({
        checksum: checksum && /^[0-9a-f]{40}$/.test(checksum) ? checksum : null,
        algorithm: found.hasAlgorithm && kind !== undefined && kind !== '' ? kind : null,
        isExternal: isExternal === 't',
      });
      into.set(item, rows);
    }
  };

  return {
    async lookup(paths) {
      const found = new Map<string, ImmichChecksum[]>();
      if (paths.length === 0) return found;
      deadline = Date.now() + timeoutMs;
      table ??= await findTable();
      for (let start = 0; start < paths.length; start += batchSize)
        await lookupBatch(table, paths.slice(start, start + batchSize), found);
      return found;
    },
  };
}

function tooLong(timeoutMs: number, what: string): AgentError {
  return new AgentError(
    'INTERNAL',
    `psql took longer than ${Math.round(timeoutMs / 1000)} s to ${what}.`,
    { step: 'guard', hint: 'Is the database busy (a migration, a long lock)?' },
  );
}

/**
 * The exec's answer, or a rejection when the time is up or the run is interrupted: the caller
 * stops waiting at once; psql in the container ends by its session's statement_timeout.
 */
async function within<T>(
  work: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  late: () => Error,
): Promise<T> {
  signal?.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(late()), timeoutMs);
    onAbort = () => reject(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined); // an answer after giving up is dropped
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
