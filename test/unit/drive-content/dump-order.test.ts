import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { dumpNameFor } from '../../../src/drive-content/dump-name.js';
import { listDumps, pickDump } from '../../../src/drive-content/dumps.js';
import { applyRetention } from '../../../src/drive-content/retention.js';
import { readSidecar, type DumpSidecar } from '../../../src/drive-content/sidecar.js';
import { localDate } from '../../../src/format.js';
import { dumpDate } from '../../../src/layout/drive.js';

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino(stream), lines };
}

const sidecar = (dump: string, extra: Partial<DumpSidecar> = {}): DumpSidecar => ({
  dump,
  format: 'pg_dump',
  database: 'immich',
  user: 'postgres',
  bytes: 4,
  sha256: 'a'.repeat(64),
  createdAt: '2026-01-01T02:05:00.000Z',
  immich: { envVersion: 'v2', serverImage: null, serverImageTag: null },
  postgres: { serverVersion: '17.6', image: null },
  verified: true,
  runId: 'r',
  agentVersion: '0.8.0',
  ...extra,
});

describe('dumps are ordered by their sequence, never by the date in their names (a clock)', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'dump-order-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  const put = async (name: string, extra?: Partial<DumpSidecar> | null): Promise<void> => {
    await writeFile(path.join(folder, name), 'dump');
    if (extra !== null)
      await writeFile(
        path.join(folder, name.replace(/\.sql\.gz$/, '.json')),
        JSON.stringify(sidecar(name, extra)),
      );
  };
  const names = async (): Promise<string[]> =>
    (await readdir(folder)).filter((name) => name.endsWith('.sql.gz')).sort();

  test('a dump dated a year ahead is older than the ones written after it; unnumbered ones come first', async () => {
    await put('immich-db-2027-06-01.sql.gz', { sequence: 2 });
    await put('immich-db-2026-06-02.sql.gz', { sequence: 3 });
    await put('immich-db-2030-01-01.sql.gz', {}); // an earlier version's, no sequence
    await put('immich-db-2020-01-01.sql.gz', null); // the old scripts'
    const order = (await listDumps(folder)).map((dump) => dump.name);
    assert.deepEqual(order, [
      'immich-db-2020-01-01.sql.gz',
      'immich-db-2030-01-01.sql.gz',
      'immich-db-2027-06-01.sql.gz',
      'immich-db-2026-06-02.sql.gz',
    ]);
    assert.equal(pickDump(await listDumps(folder)).name, 'immich-db-2026-06-02.sql.gz');
  });

  test('retention keepDumps 1 with a future-dated dump keeps the fresh one and removes the old', async () => {
    await put('immich-db-2027-06-01.sql.gz', { sequence: 1 });
    await put('immich-db-2026-06-02.sql.gz', { sequence: 2 });
    const { logger, lines } = capturingLogger();
    const removed = await applyRetention(folder, 1, logger, 'immich-db-2026-06-02.sql.gz');
    assert.deepEqual(removed, ['immich-db-2027-06-01.sql.gz']);
    assert.deepEqual(await names(), ['immich-db-2026-06-02.sql.gz']);
    assert.match(lines.join(''), /Removed 1 old dump/);
  });

  test('retention never removes the dump this run just wrote, whatever its place', async () => {
    await put('immich-db-2026-06-01.sql.gz', { sequence: 5 });
    await put('immich-db-2026-06-02.sql.gz', { sequence: 4 }); // just written, a forged order
    const removed = await applyRetention(
      folder,
      1,
      pino({ level: 'silent' }),
      'immich-db-2026-06-02.sql.gz',
    );
    assert.deepEqual(removed, []);
    assert.equal((await names()).length, 2);
  });

  test('pickDump with a date takes the newest dump of that day, suffixed names too', async () => {
    await put('immich-db-2026-06-02.sql.gz', { sequence: 3 });
    await put('immich-db-2026-06-02T10-00-00.sql.gz', { sequence: 4 });
    await put('immich-db-2026-06-02T10-00-00-2.sql.gz', { sequence: 5 });
    const dumps = await listDumps(folder);
    assert.equal(dumps.length, 3);
    assert.equal(pickDump(dumps, '2026-06-02').name, 'immich-db-2026-06-02T10-00-00-2.sql.gz');
    assert.equal(dumpDate('immich-db-2026-06-02T10-00-00.sql.gz'), '2026-06-02');
    assert.equal(dumpDate('immich-db-2026-06-02T10-00.sql.gz'), null);
    assert.equal(dumpDate('immich-db-2026-06-02.sql.gz.bak'), null);
  });

  test('an old sidecar without a sequence is still read; a sequence out of range makes it unbelievable', async () => {
    await put('immich-db-2026-06-02.sql.gz', {});
    assert.equal((await readSidecar(folder, 'immich-db-2026-06-02.sql.gz'))?.sequence, undefined);
    await put('immich-db-2026-06-03.sql.gz', { sequence: 2 ** 60 });
    assert.equal(await readSidecar(folder, 'immich-db-2026-06-03.sql.gz'), null);
  });
});

describe('the name of a new dump never replaces one a later run wrote', () => {
  let folder: string;
  const now = new Date();
  const today = localDate(now);
  beforeEach(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'dump-name-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  const put = async (name: string, extra: Partial<DumpSidecar>): Promise<void> => {
    await writeFile(path.join(folder, name), 'dump');
    await writeFile(
      path.join(folder, name.replace(/\.sql\.gz$/, '.json')),
      JSON.stringify(sidecar(name, extra)),
    );
  };

  test('an empty or missing folder: the day name, sequence 1', async () => {
    const silent = pino({ level: 'silent' });
    assert.deepEqual(await dumpNameFor(folder, now, silent), {
      name: `immich-db-${today}.sql.gz`,
      sequence: 1,
      kept: null,
    });
    assert.equal((await dumpNameFor(path.join(folder, 'none'), now, silent)).sequence, 1);
  });

  test('a second run of the day replaces that day’s dump (the seed’s rule)', async () => {
    await put(`immich-db-${today}.sql.gz`, {
      sequence: 7,
      createdAt: new Date(now.getTime() - 3600_000).toISOString(),
    });
    const chosen = await dumpNameFor(folder, now, pino({ level: 'silent' }));
    assert.deepEqual(chosen, { name: `immich-db-${today}.sql.gz`, sequence: 8, kept: null });
  });

  test('a clock set back to a day whose dump came before a later one: a name of its own, said', async () => {
    await put(`immich-db-${today}.sql.gz`, { sequence: 1 });
    await put('immich-db-2099-01-01.sql.gz', { sequence: 2 });
    const time = now.toTimeString().slice(0, 8).replace(/:/g, '-');
    await writeFile(path.join(folder, `immich-db-${today}T${time}.sql.gz`), 'taken');
    await symlink('/etc/passwd', path.join(folder, `immich-db-${today}T${time}-2.sql.gz`));
    const { logger, lines } = capturingLogger();
    const chosen = await dumpNameFor(folder, now, logger);
    assert.deepEqual(chosen, {
      name: `immich-db-${today}T${time}-3.sql.gz`,
      sequence: 3,
      kept: `immich-db-${today}.sql.gz`,
    });
    assert.match(
      lines.join(''),
      /Kept immich-db-.* rather than replacing it: immich-db-2099-01-01/,
    );
  });

  test('today’s dump created later than now (a clock set back within the day) is kept', async () => {
    await put(`immich-db-${today}.sql.gz`, {
      sequence: 1,
      createdAt: new Date(now.getTime() + 3600_000).toISOString(),
    });
    const chosen = await dumpNameFor(folder, now, pino({ level: 'silent' }));
    assert.match(chosen.name, new RegExp(`^immich-db-${today}T\\d\\d-\\d\\d-\\d\\d\\.sql\\.gz$`));
    assert.equal(chosen.kept, `immich-db-${today}.sql.gz`);
  });
});
