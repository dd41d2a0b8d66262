import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { listDumps } from '../../../src/drive-content/dumps.js';
import { readSidecar, type DumpSidecar } from '../../../src/drive-content/sidecar.js';

const good: DumpSidecar = {
  dump: 'immich-db-2026-01-01.sql.gz',
  format: 'pg_dump',
  database: 'immich',
  user: 'postgres',
  bytes: 10,
  sha256: 'a'.repeat(64),
  createdAt: '2026-01-01T02:05:00.000Z',
  immich: { envVersion: 'v2', serverImage: null, serverImageTag: null },
  postgres: { serverVersion: '17.6', image: null },
  verified: true,
  runId: 'r1',
  agentVersion: '0.8.0',
};

describe('drive metadata is data someone else may have written', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'sidecar-test-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const sidecarOf = (date: string): string => path.join(folder, `immich-db-${date}.json`);

  test('a whole sidecar is read', async () => {
    await writeFile(sidecarOf('2026-01-01'), JSON.stringify(good));
    assert.deepEqual(await readSidecar(folder, 'immich-db-2026-01-01.sql.gz'), good);
  });

  for (const [name, content] of [
    ['{"verified":true} alone', '{"verified":true}'],
    ['a sha256 that is not one', JSON.stringify({ ...good, sha256: '../../etc' })],
    ['bytes as text', JSON.stringify({ ...good, bytes: '10' })],
    ['an array', '[]'],
    ['not JSON', 'verified: yes'],
  ] as const) {
    test(`a sidecar that is ${name} is absent, not a crash`, async () => {
      await writeFile(sidecarOf('2026-01-02'), content);
      assert.equal(await readSidecar(folder, 'immich-db-2026-01-02.sql.gz'), null);
    });
  }

  test('a FIFO in place of a sidecar is absent at once (it would hang the run)', async () => {
    await execa('mkfifo', ['--', sidecarOf('2026-01-03')]);
    const started = Date.now();
    assert.equal(await readSidecar(folder, 'immich-db-2026-01-03.sql.gz'), null);
    assert.ok(Date.now() - started < 2000);
  });

  test('a sidecar that is a symlink (to a root-only file, say) is not followed', async () => {
    await symlink('/etc/shadow', sidecarOf('2026-01-04'));
    assert.equal(await readSidecar(folder, 'immich-db-2026-01-04.sql.gz'), null);
  });

  test('a sidecar of megabytes is not read', async () => {
    await writeFile(sidecarOf('2026-01-05'), ' '.repeat(1024 * 1024));
    assert.equal(await readSidecar(folder, 'immich-db-2026-01-05.sql.gz'), null);
  });

  test('only regular files count as dumps: a FIFO, a folder or a symlink by a dump’s name do not', async () => {
    const dumps = await mkdtemp(path.join(folder, 'dumps-'));
    await writeFile(path.join(dumps, 'immich-db-2026-02-01.sql.gz'), 'x');
    await execa('mkfifo', ['--', path.join(dumps, 'immich-db-2026-02-02.sql.gz')]);
    await execa('mkdir', ['--', path.join(dumps, 'immich-db-2026-02-03.sql.gz')]);
    await symlink('/etc/passwd', path.join(dumps, 'immich-db-2026-02-04.sql.gz'));
    assert.deepEqual(
      (await listDumps(dumps)).map((dump) => dump.name),
      ['immich-db-2026-02-01.sql.gz'],
    );
  });
});
