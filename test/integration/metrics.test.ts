import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { RunRecord } from '../../src/history/record.js';
import { agentEnv, cliPath, logEvents, repoRoot, runAgent } from '../env/cli.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { parseMetricsStrictly, valueOf } from '../unit/metrics/prometheus-parse.js';

/** The outcome whose series is 1 (and that there is exactly one). */
function lastOutcome(families: ReturnType<typeof parseMetricsStrictly>): string | undefined {
  const ones = (families.get('immich_backup_last_run_outcome')?.metrics ?? []).filter(
    (sample) => sample.value === '1',
  );
  assert.equal(ones.length, 1, 'one outcome is 1');
  return ones[0]?.labels?.outcome;
}

const seconds = (iso: string | null | undefined): number => Date.parse(iso ?? '') / 1000;

describe('the Prometheus metrics file after real runs', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let folder: string;
  let textfile: string;
  let success: RunRecord;

  const readMetrics = async () => parseMetricsStrictly(await readFile(textfile, 'utf8'));

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    // node_exporter's textfile folder, root's, under the bed's awkward path.
    folder = path.join(bed.root, 'node-exporter');
    await mkdir(folder, { mode: 0o755 });
    textfile = path.join(folder, 'immich_backup.prom');
    await bed.writeConfig({ metrics: { textfile } });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a backup leaves a file a Prometheus parser reads, with the figures of its record', async () => {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    success = await bed.lastRun();
    assert.equal(success.outcome, 'success');
    assert.ok(success.readBack, 'the run read originals back (the bed has them)');

    const families = await readMetrics();
    assert.equal(lastOutcome(families), 'success');
    const expected: Record<string, number | undefined> = {
      immich_backup_last_run_timestamp_seconds: seconds(success.finishedAt),
      immich_backup_last_success_timestamp_seconds: seconds(success.finishedAt),
      immich_backup_last_run_duration_seconds: success.durationMs / 1000,
      immich_backup_dump_bytes: success.database?.bytes,
      immich_backup_files_copied: success.files?.transferredFiles,
      immich_backup_bytes_copied: success.files?.transferredBytes,
      immich_backup_server_downtime_seconds: (success.server?.downtimeMs ?? NaN) / 1000,
      immich_backup_verify_coverage_ratio: success.readBack.cycleCoverage,
      immich_backup_verify_mismatches: success.readBack.mismatches.length,
      immich_backup_verify_missing: success.readBack.missing.length,
      immich_backup_next_due_timestamp_seconds: seconds(success.nextDueAt),
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(typeof value, 'number', `the record has ${name}'s figure`);
      assert.equal(valueOf(families, name), value, name);
    }
    assert.ok((success.database?.bytes ?? 0) > 1000 && (success.files?.transferredFiles ?? 0) > 3);
    assert.deepEqual(families.get('immich_backup_drive_free_bytes')?.metrics, [
      {
        value: String(success.drive?.freeBytes),
        labels: { uuid: bed.drive.uuid, label: 'backup drive' },
      },
    ]);
    assert.equal((await stat(textfile)).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(folder), ['immich_backup.prom'], 'no temporary file is left');
  });

  test('a plug-in run that is not due, a run refused by the lock and a failed run rewrite it; the backup’s figures stay', async () => {
    const skipped = await bed.run('run', '--trigger', 'hotplug');
    assert.equal(skipped.exitCode, 0, skipped.stdout + skipped.stderr);
    const skip = await bed.lastRun();
    assert.equal(skip.reason, 'NOT_DUE');
    let families = await readMetrics();
    assert.equal(lastOutcome(families), 'skipped');
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      seconds(skip.finishedAt),
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_success_timestamp_seconds'),
      seconds(success.finishedAt),
    );
    assert.equal(valueOf(families, 'immich_backup_dump_bytes'), success.database?.bytes);

    // A real process holds the lock, as a long backup would: the refused run still updates it.
    const holder = execa(
      'node',
      [path.join(repoRoot, 'dist/test/env/hold-lock.js'), bed.stateDir],
      {
        buffer: false,
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on(
          'data',
          (chunk: Buffer) => chunk.toString().includes('locked') && resolve(),
        );
        holder.catch(reject);
      });
      const refused = await bed.run('run');
      assert.equal(refused.exitCode, 75, refused.stdout + refused.stderr);
    } finally {
      holder.kill('SIGKILL');
      await holder.catch(() => undefined);
    }
    const refusal = await bed.lastRun();
    assert.equal(refusal.reason, 'ALREADY_RUNNING');
    families = await readMetrics();
    assert.equal(lastOutcome(families), 'skipped');
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      seconds(refusal.finishedAt),
    );

    // A failed run (the Docker engine unreachable) too.
    const failed = await runAgent(['--config', bed.configFile, 'run'], {
      env: { DOCKER_HOST: `unix://${bed.root}/no-docker.sock` },
    });
    assert.equal(failed.exitCode, 1, failed.stdout + failed.stderr);
    const failure = await bed.lastRun();
    families = await readMetrics();
    assert.equal(lastOutcome(families), 'failed');
    assert.equal(
      valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
      seconds(failure.finishedAt),
    );
    assert.equal(
      valueOf(families, 'immich_backup_last_success_timestamp_seconds'),
      seconds(success.finishedAt),
    );
  });

  test('a symlink at the path is refused with a warning, and the backup still succeeds', async () => {
    const elsewhere = path.join(bed.root, 'not-for-metrics.conf');
    await writeFile(elsewhere, 'keep me\n');
    await rm(textfile);
    await symlink(elsewhere, textfile);
    try {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      assert.equal((await bed.lastRun()).outcome, 'success');
      const warning = logEvents(result.stdout).find(
        (event) => event.code === 'METRICS_NOT_WRITTEN',
      );
      assert.ok(warning, 'the refusal is logged');
      assert.equal(warning.level, 'warn', 'as a warning');
      assert.match(String(warning.msg), /symbolic link/);
      assert.equal(await readlink(textfile), elsewhere, 'the link is left as it was');
      assert.equal(await readFile(elsewhere, 'utf8'), 'keep me\n', 'and where it points untouched');
    } finally {
      await rm(textfile, { force: true });
    }
  });

  test('the daemon writes the file when it starts, before any run', async () => {
    assert.equal(existsSync(textfile), false);
    const last = await bed.lastRun(); // a success: nothing is due, so the daemon starts no run
    const daemon = execa('node', [cliPath, '--config', bed.configFile, 'daemon'], {
      buffer: false,
      reject: false,
      env: agentEnv(),
    });
    try {
      for (let waited = 0; !existsSync(textfile) && waited < 30_000; waited += 200)
        await new Promise((resolve) => setTimeout(resolve, 200));
      const families = await readMetrics();
      assert.equal(lastOutcome(families), 'success');
      assert.equal(
        valueOf(families, 'immich_backup_last_run_timestamp_seconds'),
        seconds(last.finishedAt),
      );
      assert.equal(
        valueOf(families, 'immich_backup_next_due_timestamp_seconds'),
        seconds(last.nextDueAt),
      );
    } finally {
      daemon.kill('SIGTERM');
      const stopped = await daemon;
      assert.equal(stopped.exitCode, 0);
    }
    assert.equal((await bed.lastRun()).id, last.id, 'the daemon ran no backup');
  });
});
