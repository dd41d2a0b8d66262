import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { DockerAdapter, ExecOutput } from '../../../src/adapters/docker.js';
import { restoreDump } from '../../../src/restore/dump-stream.js';
import { emptySearchPath, immichSearchPath } from '../../../src/restore/search-path-fix.js';
import { AgentError } from '../../../src/errors.js';

/**
 * A psql that reads all it is given, or stops after `stopAfter` bytes (an error in the dump: its
 * end of the engine's socket goes away, as docker.ts's pipeline then sees it), and exits with
 * `exitCode`.
 */
function fakePsql(options: { exitCode?: number; stopAfter?: number } = {}): {
  docker: DockerAdapter;
  received: () => string;
} {
  let text = '';
  const docker = {
    async execWithInput(_name: string, _command: readonly string[], input: Readable) {
      const socket = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          text += chunk.toString('utf8');
          if (options.stopAfter !== undefined && text.length >= options.stopAfter)
            callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }));
          else callback();
        },
      });
      await pipeline(input, socket).catch(() => undefined);
      // The engine reports the exit code a moment later (docker.ts asks for it), by which time
      // the rest of the chain has been torn down.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { exitCode: options.exitCode ?? 0, stdout: '', stderr: '' } satisfies ExecOutput;
    },
  } as unknown as DockerAdapter;
  return { docker, received: () => text };
}

const target = { container: 'db', user: 'postgres', database: 'immich' };
const dumpText = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  'SET statement_timeout = 0;',
  emptySearchPath,
  'CREATE TABLE public.album (description text);',
  'COPY public.album (description) FROM stdin;',
  ...Array.from({ length: 20_000 }, (_, index) => `row ${index} ${emptySearchPath}`),
  '\\.',
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
].join('\n');

/** How many file descriptors of this process point at the file. */
async function openDescriptors(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file) count += 1;
  }
  return count;
}

describe('restoreDump feeds psql one transaction, and closes the dump on every path', () => {
  let folder: string;
  let good: string;
  let truncated: string;

  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'dump-stream-test-'));
    good = path.join(folder, 'good.sql.gz');
    truncated = path.join(folder, 'truncated.sql.gz');
    const compressed = gzipSync(dumpText);
    await writeFile(good, compressed);
    // The drive fails half-way: the file ends in the middle of the gzip stream.
    await writeFile(truncated, compressed.subarray(0, Math.floor(compressed.length / 2)));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('a whole dump: BEGIN, the public schema reset, the dump with its header fixed, COMMIT', async () => {
    const psql = fakePsql();
    const result = await restoreDump(psql.docker, good, 'pg_dump', target);
    assert.equal(result.exitCode, 0);
    const sent = psql.received();
    assert.ok(sent.startsWith('BEGIN;\n'), sent.slice(0, 40));
    assert.match(sent, /ALTER SCHEMA public OWNER TO pg_database_owner/);
    assert.ok(sent.endsWith('-- PostgreSQL database dump complete\n--\nCOMMIT;\n'));
    assert.equal(sent.split(immichSearchPath).length - 1, 1, 'the header line only');
    assert.equal(sent.split(emptySearchPath).length - 1, 20_000, 'every row as it was');
    assert.equal(await openDescriptors(good), 0, 'the dump is closed');
  });

  test('a dump that breaks off never reaches COMMIT, and the restore fails saying nothing was kept', async () => {
    const psql = fakePsql();
    const failure = await restoreDump(psql.docker, truncated, 'pg_dump', target).then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(failure instanceof AgentError, String(failure));
    assert.equal(failure.code, 'RESTORE_FAILED');
    assert.match(failure.hint ?? '', /Nothing of it was committed/);
    assert.ok(psql.received().startsWith('BEGIN;'));
    assert.ok(!psql.received().includes('COMMIT;'), 'no COMMIT was sent');
    assert.equal(await openDescriptors(truncated), 0, 'the dump is closed');
  });

  test('a psql that stops reading early (an error in the dump) gets its exit code reported, and the dump is closed', async () => {
    const psql = fakePsql({ exitCode: 3, stopAfter: 10_000 });
    const result = await restoreDump(psql.docker, good, 'pg_dump', target);
    assert.equal(result.exitCode, 3);
    assert.ok(!psql.received().includes('COMMIT;'));
    assert.equal(await openDescriptors(good), 0, 'the dump is closed, the drive can unmount');
  });
});
