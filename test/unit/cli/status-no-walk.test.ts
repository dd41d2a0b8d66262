import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ProcessGateway } from '../../../src/adapters/process.js';
import type { AgentConfig } from '../../../src/config/load.js';
import { driveNotUsed, emptyRecord, type RunRecord } from '../../../src/history/record.js';
import { createHistoryStore } from '../../../src/history/store.js';
import { readStatus } from '../../../src/cli/status-read.js';

const uuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';

function backup(id: string, finishedAt: string, totalBytes: number, copied: number): RunRecord {
  return {
    ...emptyRecord({
      id,
      trigger: 'manual',
      outcome: 'success',
      startedAt: finishedAt,
      finishedAt,
      agentVersion: '0.0.0',
    }),
    drive: { ...driveNotUsed({ uuid, label: 'Backup1' }), freeBytes: 10 * 1024 ** 3 },
    database: { file: 'x.sql.gz', bytes: 1000, sha256: '', container: 'db', name: 'immich' },
    files: {
      transferredFiles: 3,
      transferredBytes: copied,
      totalFiles: 10,
      totalBytes,
      durationMs: 1,
    },
  } as RunRecord;
}

// No drive is found (blkid fails): status answers from the records alone.
const noBlkid = {
  run: () => Promise.reject(new Error('no blkid here')),
} as unknown as ProcessGateway;

describe('status answers from the records, never by walking the library', () => {
  test('the estimate is the growth between the last two backups plus a dump, whatever the library holds now', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'iba-status-'));
    try {
      const library = path.join(root, 'library');
      await mkdir(path.join(library, 'upload'), { recursive: true });
      // 1 TiB (sparse) in the library now: a walk would see it, the records do not.
      await writeFile(path.join(library, 'upload', 'huge.mp4'), '');
      await truncate(path.join(library, 'upload', 'huge.mp4'), 1024 ** 4);
      const history = createHistoryStore(path.join(root, 'state'), path.join(root, 'state'));
      await history.write(backup('a', '2026-11-22T02:10:00.000Z', 50_000, 50_000));
      await history.write(backup('b', '2026-11-29T02:10:00.000Z', 80_000, 31_000));
      const config = {
        stateDir: path.join(root, 'state'),
        schedule: { cron: '5 2 * * 0', maxAgeDays: 7 },
        drives: [{ uuid, label: 'Backup1' }],
        immich: { libraryDir: library },
      } as unknown as AgentConfig;
      const status = await readStatus(
        { config, history, gateway: noBlkid },
        new Date('2026-11-30T12:00:00Z'),
      );
      const drive = status.drives[0];
      assert.equal(drive?.nextBackupBytes, 30_000 + 1000);
      assert.equal(drive?.nextBackupBasis, 'growth');
      assert.equal(drive?.fits, true);
      assert.deepEqual(drive?.lastCopy, {
        at: '2026-11-29T02:10:00.000Z',
        copiedFiles: 3,
        copiedBytes: 31_000,
        libraryFiles: 10,
        libraryBytes: 80_000,
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('with one backup so far, the estimate is a dump and says so', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'iba-status-'));
    try {
      const history = createHistoryStore(path.join(root, 'state'), path.join(root, 'state'));
      await history.write(backup('a', '2026-11-29T02:10:00.000Z', 50_000, 50_000));
      const config = {
        stateDir: path.join(root, 'state'),
        schedule: { cron: '5 2 * * 0', maxAgeDays: 7 },
        drives: [{ uuid, label: 'Backup1' }],
        // Not there at all: status does not need it.
        immich: { libraryDir: path.join(root, 'no-library') },
      } as unknown as AgentConfig;
      const status = await readStatus(
        { config, history, gateway: noBlkid },
        new Date('2026-11-30T12:00:00Z'),
      );
      assert.equal(status.drives[0]?.nextBackupBytes, 1000);
      assert.equal(status.drives[0]?.nextBackupBasis, 'dump-only');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
