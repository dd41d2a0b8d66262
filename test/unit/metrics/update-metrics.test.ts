import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../../src/config/schema.js';
import { createHistoryStore } from '../../../src/history/store.js';
import { updateMetrics, type MetricsDeps } from '../../../src/metrics/update-metrics.js';
import { nextDueAt } from '../../../src/policy/due.js';
import { parseMetricsStrictly, valueOf } from './prometheus-parse.js';
import { runRecord } from './records.js';

const uuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';
const now = new Date('2026-12-07T12:00:00Z');
let root: string;

/** A state folder with these records, a metrics file in another folder, a logger that keeps lines. */
async function setUp(
  textfile: (folder: string) => string | null = (folder) => path.join(folder, 'immich_backup.prom'),
) {
  const folder = await mkdtemp(path.join(root, 'case-'));
  const stateDir = path.join(folder, 'state');
  const history = createHistoryStore(stateDir, path.join(stateDir, 'sequence'));
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    }),
  );
  const file = textfile(folder);
  const parsed = configSchema.parse({ drive: { uuid }, metrics: { textfile: file } });
  const deps: MetricsDeps = {
    config: {
      ...parsed,
      drives: [
        {
          uuid,
          label: 'Backup "1"',
          mountPoint: '/mnt/b',
          backupDir: 'immich-backup',
          powerOffAfter: false,
        },
      ],
    },
    history,
    clock: () => now,
    log,
  };
  return { folder, file, history, deps, lines };
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'update-metrics-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('updateMetrics', () => {
  test('writes the figures of the last run as the history holds it, next due as the policy says', async () => {
    const { file, history, deps } = await setUp();
    await history.write(runRecord('r1', 'failed', '2026-12-05T02:10:00Z'));
    const last = await history.write(runRecord('r2', 'success', '2026-12-06T02:17:34.250Z'));
    assert.equal(await updateMetrics(deps), true);

    const families = parseMetricsStrictly(await readFile(file as string, 'utf8'));
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      Date.parse(last.finishedAt) / 1000,
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_success_timestamp_seconds'),
      Date.parse(last.finishedAt) / 1000,
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_run_duration_seconds'),
      last.durationMs / 1000,
    );
    assert.equal(valueOf(families, 'immich_backup_dump_bytes'), last.database?.bytes);
    assert.equal(valueOf(families, 'immich_backup_files_copied'), last.files?.transferredFiles);
    assert.equal(valueOf(families, 'immich_backup_bytes_copied'), last.files?.transferredBytes);
    assert.equal(
      valueOf(families, 'immich_backup_server_downtime_seconds'),
      (last.server?.downtimeMs ?? 0) / 1000,
    );
    assert.equal(
      valueOf(families, 'immich_backup_verify_coverage_ratio'),
      last.readBack?.cycleCoverage,
    );
    assert.equal(
      valueOf(families, 'immich_backup_verify_mismatches'),
      last.readBack?.mismatches.length,
    );
    assert.deepEqual(families.get('immich_backup_drive_free_bytes')?.metrics, [
      { value: String(last.drive?.freeBytes), labels: { uuid, label: 'Backup "1"' } },
    ]);
    const outcome = families.get('immich_backup_last_run_outcome')?.metrics ?? [];
    assert.deepEqual(
      outcome.filter((sample) => sample.value === '1').map((sample) => sample.labels?.outcome),
      ['success'],
    );

    // The policy status uses: the first window after the last success, or its going stale.
    const due = valueOf(families, 'immich_backup_next_due_timestamp_seconds') as number;
    const policy = nextDueAt({
      now,
      lastSuccessAt: new Date(last.finishedAt),
      cron: '5 2 * * 0',
      maxAgeDays: 7,
    });
    assert.equal(due, policy.getTime() / 1000);
    assert.ok(due > Date.parse('2026-12-12T12:00:00Z') / 1000, 'Sunday 02:05 local, in any zone');
    assert.ok(due <= Date.parse('2026-12-13T02:17:34.250Z') / 1000, 'no later than stale');
  });

  test('the next run (a skip) rewrites the file: it is the last run now, the success’s figures stay', async () => {
    const { file, history, deps } = await setUp();
    const success = await history.write(runRecord('r1', 'success', '2026-12-06T02:17:34Z'));
    await updateMetrics(deps);
    const skipped = await history.write(runRecord('r2', 'skipped', '2026-12-07T11:59:00Z'));
    await updateMetrics(deps);
    const families = parseMetricsStrictly(await readFile(file as string, 'utf8'));
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      Date.parse(skipped.finishedAt) / 1000,
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_success_timestamp_seconds'),
      Date.parse(success.finishedAt) / 1000,
    );
    assert.deepEqual(
      families.get('immich_backup_last_run_outcome')?.metrics.find((sample) => sample.value === '1')
        ?.labels,
      { outcome: 'skipped' },
    );
  });

  test('with no success on record a backup is due now, and the file says so', async () => {
    const { file, deps } = await setUp();
    assert.equal(await updateMetrics(deps), true);
    const families = parseMetricsStrictly(await readFile(file as string, 'utf8'));
    assert.deepEqual([...families.keys()], ['immich_backup_next_due_timestamp_seconds']);
    assert.equal(
      valueOf(families, 'immich_backup_next_due_timestamp_seconds'),
      now.getTime() / 1000,
    );
  });

  test('a file that cannot be written is a logged warning (METRICS_NOT_WRITTEN), never a throw', async () => {
    const { folder, file, history, deps, lines } = await setUp();
    await history.write(runRecord('r1', 'success', '2026-12-06T02:17:34Z'));
    await writeFile(path.join(folder, 'elsewhere'), 'keep\n');
    await symlink(path.join(folder, 'elsewhere'), file as string);
    assert.equal(await updateMetrics(deps), false);
    const warning = lines.find((line) => line.code === 'METRICS_NOT_WRITTEN');
    assert.equal(warning?.level, 40, 'logged as a warning');
    assert.equal(warning?.step, 'metrics');
    assert.match(String(warning?.msg), /symbolic link.*Backups are not affected/s);
    assert.equal(await readFile(path.join(folder, 'elsewhere'), 'utf8'), 'keep\n');
  });

  test('with two drives each has the free space of its own last success', async () => {
    const { file, history, deps } = await setUp();
    const other = 'ABCD-1234';
    deps.config.drives.push({ ...deps.config.drives[0]!, uuid: other, label: 'Backup2' });
    const first = runRecord('r1', 'success', '2026-12-05T02:17:34Z');
    await history.write(first);
    await history.write(
      runRecord('r2', 'success', '2026-12-06T02:17:34Z', {
        drive: { ...first.drive!, uuid: other, freeBytes: 1234 },
      }),
    );
    await history.write(runRecord('r3', 'skipped', '2026-12-07T02:17:34Z'));
    await updateMetrics(deps);
    const families = parseMetricsStrictly(await readFile(file as string, 'utf8'));
    assert.deepEqual(families.get('immich_backup_drive_free_bytes')?.metrics, [
      { value: String(first.drive?.freeBytes), labels: { uuid, label: 'Backup "1"' } },
      { value: '1234', labels: { uuid: other, label: 'Backup2' } },
    ]);
  });

  test('without metrics.textfile nothing is written and nothing is logged', async () => {
    const { folder, history, deps, lines } = await setUp(() => null);
    await history.write(runRecord('r1', 'success', '2026-12-06T02:17:34Z'));
    assert.equal(await updateMetrics(deps), false);
    assert.deepEqual(lines, []);
    assert.deepEqual((await readdir(folder)).sort(), ['state']);
    assert.equal(existsSync(path.join(folder, 'immich_backup.prom')), false);
  });
});
