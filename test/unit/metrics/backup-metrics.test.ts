import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Outcome } from '../../../src/history/record.js';
import { backupMetrics, outcomes, type MetricsInput } from '../../../src/metrics/backup-metrics.js';
import { renderMetrics } from '../../../src/metrics/text-format.js';
import { parseMetricsStrictly, valueOf } from './prometheus-parse.js';
import { runRecord } from './records.js';

const uuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';
const nextDueAt = new Date('2026-12-13T02:05:00Z');

/** The file as a parser reads it, for these records. */
function render(input: Partial<MetricsInput>) {
  const full: MetricsInput = {
    lastRun: null,
    lastSuccess: null,
    drives: [],
    nextDueAt: null,
    ...input,
  };
  return parseMetricsStrictly(renderMetrics(backupMetrics(full)));
}

const outcomeSeries = (families: ReturnType<typeof render>): Record<string, number> =>
  Object.fromEntries(
    (families.get('immich_backup_last_run_outcome')?.metrics ?? []).map((sample) => [
      sample.labels?.outcome ?? '',
      Number(sample.value),
    ]),
  );

describe('the metrics of the run history', () => {
  test('after a successful run every figure is its record’s, in seconds and bytes', () => {
    const record = runRecord('r1', 'success', '2026-12-06T02:17:34.567Z');
    const families = render({
      lastRun: record,
      lastSuccess: record,
      drives: [{ uuid, label: 'Backup1', lastSuccess: record }],
      nextDueAt,
    });
    const expected: Record<string, number> = {
      immich_backup_last_run_timestamp_seconds: Date.parse(record.finishedAt) / 1000,
      immich_backup_last_run_duration_seconds: record.durationMs / 1000,
      immich_backup_last_success_timestamp_seconds: 1796523454.567,
      immich_backup_dump_bytes: 48_213_771,
      immich_backup_files_copied: 1204,
      immich_backup_bytes_copied: 3_435_973_837,
      immich_backup_server_downtime_seconds: 301.457,
      immich_backup_verify_coverage_ratio: 0.1875,
      immich_backup_verify_mismatches: 2,
      immich_backup_verify_missing: 1,
      immich_backup_next_due_timestamp_seconds: nextDueAt.getTime() / 1000,
    };
    for (const [name, value] of Object.entries(expected))
      assert.equal(valueOf(families, name), value, name);
    assert.equal(record.durationMs, 754_321);
    assert.deepEqual(families.get('immich_backup_drive_free_bytes')?.metrics, [
      { value: '734003200000', labels: { uuid, label: 'Backup1' } },
    ]);
    assert.equal(families.size, Object.keys(expected).length + 2, 'and the outcome and free space');
  });

  test('the outcome has one series per outcome, 1 for the last run’s and 0 for the others', () => {
    for (const outcome of ['success', 'warning', 'skipped', 'failed', 'interrupted'] as Outcome[]) {
      const families = render({ lastRun: runRecord('r', outcome, '2026-12-06T02:00:00Z') });
      assert.deepEqual(
        outcomeSeries(families),
        Object.fromEntries(outcomes.map((each) => [each, each === outcome ? 1 : 0])),
        outcome,
      );
    }
  });

  test('a skipped run after a success: the last run is the skip, the backup’s figures stay the success’s', () => {
    const success = runRecord('r1', 'success', '2026-12-06T02:17:34Z');
    const skipped = runRecord('r2', 'skipped', '2026-12-07T18:00:01Z');
    const families = render({ lastRun: skipped, lastSuccess: success });
    assert.equal(outcomeSeries(families).skipped, 1);
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      Date.parse(skipped.finishedAt) / 1000,
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_success_timestamp_seconds'),
      Date.parse(success.finishedAt) / 1000,
    );
    assert.equal(valueOf(families, 'immich_backup_dump_bytes'), 48_213_771);
  });

  test('before any run only the next due time is written, and nothing is a 0 standing for unknown', () => {
    const families = render({ nextDueAt });
    assert.deepEqual([...families.keys()], ['immich_backup_next_due_timestamp_seconds']);
    assert.equal(render({}).size, 0, 'no figure at all: an empty file');
  });

  test('a failed first run: its outcome and time, but no success and none of a backup’s figures', () => {
    const failed = runRecord('r1', 'failed', '2026-12-06T02:01:00Z');
    const families = render({
      lastRun: failed,
      drives: [{ uuid, label: 'Backup1', lastSuccess: null }],
    });
    assert.deepEqual([...families.keys()].sort(), [
      'immich_backup_last_run_duration_seconds',
      'immich_backup_last_run_outcome',
      'immich_backup_last_run_timestamp_seconds',
    ]);
    assert.equal(outcomeSeries(families).failed, 1);
  });

  test('a success without a read-back, or a record of an older version, leaves those figures out', () => {
    const noReadBack = runRecord('r1', 'success', '2026-12-06T02:17:34Z', { readBack: null });
    const older = runRecord('r2', 'warning', '2026-12-06T02:17:34Z');
    delete older.readBack;
    if (older.drive) delete older.drive.freeBytes;
    for (const record of [noReadBack, older]) {
      const families = render({
        lastRun: record,
        lastSuccess: record,
        drives: [{ uuid, label: 'Backup1', lastSuccess: record }],
      });
      for (const name of ['immich_backup_verify_coverage_ratio', 'immich_backup_verify_mismatches'])
        assert.equal(families.has(name), false, `${record.id}: ${name}`);
      assert.equal(valueOf(families, 'immich_backup_dump_bytes'), 48_213_771);
    }
    const families = render({ drives: [{ uuid, label: 'Backup1', lastSuccess: older }] });
    assert.equal(families.has('immich_backup_drive_free_bytes'), false);
  });

  test('a record with an outcome the agent does not know writes no outcome series rather than a wrong one', () => {
    const odd = runRecord('r1', 'success', '2026-12-06T02:17:34Z', {
      outcome: 'exploded' as Outcome,
    });
    assert.equal(render({ lastRun: odd }).has('immich_backup_last_run_outcome'), false);
    const badTime = runRecord('r2', 'failed', '2026-12-06T02:17:34Z', { finishedAt: 'not a time' });
    assert.equal(
      render({ lastRun: badTime }).has('immich_backup_last_run_timestamp_seconds'),
      false,
    );
  });

  test('several drives: one free-space series each, the drive’s own figure, a drive never backed up left out', () => {
    const first = runRecord('r1', 'success', '2026-12-06T02:17:34Z');
    const second = runRecord('r2', 'success', '2026-12-07T02:17:34Z', {
      drive: { ...first.drive!, uuid: 'ABCD-1234', freeBytes: 5 },
    });
    const families = render({
      lastRun: second,
      lastSuccess: second,
      drives: [
        { uuid, label: 'Backup "1"', lastSuccess: first },
        { uuid: 'ABCD-1234', label: 'Backup\\2', lastSuccess: second },
        { uuid: '0a1b2c3d', label: 'Backup3', lastSuccess: null },
      ],
    });
    assert.deepEqual(families.get('immich_backup_drive_free_bytes')?.metrics, [
      { value: '734003200000', labels: { uuid, label: 'Backup "1"' } },
      { value: '5', labels: { uuid: 'ABCD-1234', label: 'Backup\\2' } },
    ]);
  });
});
