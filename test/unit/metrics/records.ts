import { emptyRecord, type Outcome, type RunRecord } from '../../../src/history/record.js';

/** A run record as a run leaves it, every figure known unless `over` says otherwise. */
export function runRecord(
  id: string,
  outcome: Outcome,
  finishedAt: string,
  over: Partial<RunRecord> = {},
): RunRecord {
  const startedAt = new Date(Date.parse(finishedAt) - 754_321).toISOString();
  const base = emptyRecord({
    id,
    trigger: 'manual',
    outcome,
    startedAt,
    finishedAt,
    agentVersion: '0.10.0',
  });
  const backedUp = outcome === 'success' || outcome === 'warning';
  return {
    ...base,
    reason: backedUp ? null : outcome === 'skipped' ? 'NOT_DUE' : 'DUMP_FAILED',
    drive: {
      uuid: 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e',
      mountPoint: '/media/gonzalo/Backup1',
      device: backedUp ? '/dev/sdb1' : null,
      filesystemType: backedUp ? 'ext4' : null,
      mountedByAgent: backedUp,
      ...(backedUp ? { freeBytes: 734_003_200_000, sizeBytes: 2_000_398_934_016 } : {}),
    },
    ...(backedUp
      ? {
          database: {
            file: 'immich-db-2026-12-06.sql.gz',
            bytes: 48_213_771,
            sha256: 'ab'.repeat(32),
            container: 'immich_postgres',
            name: 'immich',
            durationMs: 31_200,
          },
          files: {
            transferredFiles: 1204,
            transferredBytes: 3_435_973_837,
            totalFiles: 51_230,
            totalBytes: 412_316_860_416,
            durationMs: 252_000,
          },
          server: {
            container: 'immich_server',
            stoppedAt: startedAt,
            startedAt: finishedAt,
            downtimeMs: 301_457,
          },
          readBack: {
            checkedFiles: 800,
            checkedBytes: 9_000_000_000,
            durationMs: 300_000,
            bytesPerSecond: 30_000_000,
            mismatches: ['upload/a.jpg', 'upload/b.jpg'],
            missing: ['upload/c.heic'],
            cycleCoverage: 0.1875,
          },
        }
      : {}),
    ...over,
  };
}
