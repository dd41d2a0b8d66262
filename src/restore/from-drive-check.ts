import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { DumpFormat } from '../adapters/database-dump.js';
import { psqlArgs } from '../adapters/database-info.js';
import type { DockerAdapter } from '../adapters/docker.js';
import { endOfCopyData, parseCopyStatement } from '../verify/copy-text.js';
import { connectTarget } from '../verify/dump-connect.js';
import { readDumpCatalogue } from '../verify/dump-catalogue.js';
import { readGzipLines } from '../verify/dump-lines.js';
import { libraryPathOf } from '../verify/immich-catalogue.js';

/** `schema.table` → the rows its COPY holds in the dump (see qualifiedName). */
export type RowCounts = Map<string, number>;

/** `schema.table`, a part that is not a plain lowercase name double-quoted (so `.` splits it). */
export function qualifiedName(schema: string, table: string): string {
  const part = (name: string) =>
    /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
  return `${part(schema)}.${part(table)}`;
}

/** The schema and table of a qualifiedName, unquoted. */
export function splitQualified(name: string): [string, string] {
  const part = String.raw`("(?:[^"]|"")*"|[^".]*)`;
  const match = new RegExp(`^${part}[.]${part}$`).exec(name);
  const unquote = (text: string) =>
    text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text;
  return [unquote(match?.[1] ?? 'public'), unquote(match?.[2] ?? name)];
}

/**
 * Counts the rows of every table's COPY data in a dump (in a cluster dump, only `database`'s
 * section), streaming: what the restored database must hold, table by table.
 */
export async function dumpRowCounts(
  dumpFile: string,
  format: DumpFormat,
  database: string,
  signal?: AbortSignal,
): Promise<RowCounts> {
  const counts: RowCounts = new Map();
  let table: string | null = null;
  let reading = format === 'pg_dump';
  const end = Buffer.from(endOfCopyData, 'latin1');
  await readGzipLines(
    dumpFile,
    (bytes) => {
      if (table !== null) {
        if (bytes.equals(end)) table = null;
        else if (reading) counts.set(table, (counts.get(table) ?? 0) + 1);
        return false;
      }
      if (bytes[0] === 0x5c && format === 'pg_dumpall') {
        const target = connectTarget(bytes.toString('utf8'));
        if (typeof target === 'string') reading = target === database;
        return false;
      }
      if (bytes[0] !== 0x43) return false;
      const statement = parseCopyStatement(bytes.toString('utf8'));
      if (statement === null) return false;
      table = qualifiedName(statement.schema ?? 'public', statement.table);
      if (reading) counts.set(table, counts.get(table) ?? 0);
      return false;
    },
    // Only lengths matter here: long lines are counted by their start.
    { maxLineBytes: 64 * 1024, signal },
  );
  return counts;
}

/** The tables whose row count in the database differs from the dump's, as sentences. */
export async function compareRowCounts(
  docker: DockerAdapter,
  target: { container: string; user: string; database: string; password?: string },
  expected: RowCounts,
): Promise<string[]> {
  if (expected.size === 0) return [];
  const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
  const names = [...expected.keys()];
  // Each table answers with its index: a name can hold `.`, `|` or a line break.
  const selects = names.map((name, index) => {
    const [schema, table] = splitQualified(name);
    return `SELECT ${index}, count(*) FROM ${quote(schema)}.${quote(table)}`;
  });
  const env = target.password ? [`PGPASSWORD=${target.password}`] : [];
  const answer = await docker.execCollect(
    target.container,
    psqlArgs(target.user, target.database, `${selects.join('\nUNION ALL\n')};`),
    env,
  );
  if (answer.exitCode !== 0) {
    return [
      `the tables could not be counted: ${answer.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    ];
  }
  const actual = new Map<string, number>();
  for (const line of answer.stdout.split('\n')) {
    const cut = line.lastIndexOf('|');
    const name = cut > 0 ? names[Number(line.slice(0, cut))] : undefined;
    if (name !== undefined) actual.set(name, Number(line.slice(cut + 1)));
  }
  const problems: string[] = [];
  for (const [name, rows] of expected) {
    const found = actual.get(name);
    if (found !== rows) problems.push(`${name} has ${found ?? 'no'} rows, the dump ${rows}`);
  }
  return problems;
}

/**
 * Every original the dump's asset rows reference (not external, inside the library), looked up
 * in the new library without following a link: the paths of those not there as regular files.
 */
export async function missingOriginals(
  dumpFile: string,
  format: DumpFormat,
  options: {
    database: string;
    library: string;
    uploadMounts: readonly string[];
    signal?: AbortSignal;
  },
): Promise<{ checked: number; missing: string[]; outside: number }> {
  const wanted: string[] = [];
  let outside = 0;
  await readDumpCatalogue(dumpFile, {
    database: options.database,
    format,
    signal: options.signal,
    onAsset(asset) {
      if (asset.isExternal) return;
      const relative = libraryPathOf(
        asset.originalPath,
        options.uploadMounts.length ? options.uploadMounts : undefined,
      );
      if (relative !== null) wanted.push(relative);
      else outside += 1;
    },
  });
  const missing: string[] = [];
  for (const relative of wanted) {
    const info = await lstat(path.join(options.library, relative)).catch(() => null);
    if (!info?.isFile()) missing.push(relative);
  }
  return { checked: wanted.length, missing, outside };
}

/**
 * Running and not restarting, now and still after `seconds`, and the same process: a container
 * under `restart: always` that crashed and came back in between reads "running" at both looks,
 * but its start time and restart count moved. Else what it is.
 */
export async function staysUp(
  docker: DockerAdapter,
  container: string,
  seconds: number,
): Promise<string | null> {
  const first = await docker.inspect(container);
  if (!first?.running || first.restarting) return describe(container, first);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const second = await docker.inspect(container);
  if (!second?.running || second.restarting) return describe(container, second);
  if (second.startedAt !== first.startedAt || second.restartCount !== first.restartCount)
    return `${container} restarted in the ${seconds} s it was watched (restart count ${first.restartCount} → ${second.restartCount}): it is not staying up`;
  return null;
}

function describe(container: string, state: Awaited<ReturnType<DockerAdapter['inspect']>>): string {
  if (!state) return `${container} does not exist`;
  return `${container} is ${state.restarting ? 'restarting' : state.status}`;
}
