import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localDate } from '../../src/format.js';
import type { RunRecord } from '../../src/history/record.js';
import { logEvents, runAgent } from '../env/cli.js';
import { clockOffsetEnv } from '../env/clock-offset.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

const day = 24 * 60 * 60 * 1000;

/**
 * The clock is not trusted: a machine whose clock jumped (an RTC kept in local time, a dead CMOS
 * battery, a wrong date typed by hand) runs the agent with that clock, then the clock is put
 * right. Each test runs the real agent on the real test bed with its clock moved, then with the
 * right one, and shows that no record written while the clock was wrong holds backups off, hides
 * the runs after it or is hidden by them, and that Immich runs afterwards.
 */
describe('a clock that jumped ahead or back, then was put right', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const agent = (offsetMs: number, ...args: string[]) =>
    runAgent(['--config', bed.configFile, ...args], {
      env: offsetMs === 0 ? {} : clockOffsetEnv(offsetMs),
    });
  const lastRun = async (...args: string[]): Promise<RunRecord> => {
    const result = await agent(0, 'last-run', '--json', ...args);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    return JSON.parse(result.stdout) as RunRecord;
  };
  /** The names of the drive's own history, in the order the agent lists them. */
  const driveHistory = (): Promise<string[]> =>
    withDriveMounted(sandbox, bed.drive, async (root) =>
      (await readdir(path.join(root, 'immich-backup', '.immich-backup-agent', 'runs'))).sort(),
    );

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    // The scheduled runs below must not wait the 20-minute sync window.
    await bed.writeConfig({ schedule: { syncWindowSeconds: 0 } });
    const first = await agent(0, 'run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a success recorded a year ahead: the next plug-in run backs up, status says stale and why, last-run shows the newest run', async () => {
    const ahead = await agent(365 * day, 'run');
    assert.equal(ahead.exitCode, 0, ahead.stdout + ahead.stderr);
    const future = await lastRun();
    assert.ok(Date.parse(future.finishedAt) > Date.now() + 300 * day, 'recorded a year ahead');

    // The clock put right: before the fix, status said healthy and this run was NOT_DUE.
    const status = await agent(0, 'status', '--json');
    assert.equal(status.exitCode, 4, status.stdout + status.stderr);
    const health = JSON.parse(status.stdout) as {
      health: string;
      nextDueAt: string;
      clock: { runId: string; finishedAt: string; now: string } | null;
    };
    assert.equal(health.health, 'stale');
    assert.equal(health.clock?.runId, future.id, 'names the record');
    assert.equal(health.clock?.finishedAt, future.finishedAt, 'and its time');
    assert.ok(Math.abs(Date.parse(health.clock?.now ?? '') - Date.now()) < 60_000, 'and now');
    assert.ok(Date.parse(health.nextDueAt) <= Date.now(), 'a backup is due now');
    const text = await agent(0, 'status');
    assert.equal(text.exitCode, 4);
    assert.match(text.stdout, /STALE: .* in the future; the clock looks wrong/);
    assert.match(text.stdout, new RegExp(`clock looks wrong: run ${future.id}`));

    const plugIn = await agent(0, 'run', '--trigger', 'hotplug');
    assert.equal(plugIn.exitCode, 0, plugIn.stdout + plugIn.stderr);
    assert.ok(
      logEvents(plugIn.stdout).some(
        (event) => event.due === 'SUCCESS_IN_FUTURE' && /clock was wrong/.test(String(event.msg)),
      ),
      'it says why it runs',
    );
    const newest = await lastRun();
    assert.equal(newest.trigger, 'hotplug');
    assert.match(newest.outcome, /^(success|warning)$/, 'it backed up instead of NOT_DUE');
    assert.ok(Date.parse(newest.finishedAt) < Date.parse(future.finishedAt), 'an earlier time');
    assert.ok((newest.sequence ?? 0) > (future.sequence ?? 0), 'but recorded after it');
    assert.equal((await lastRun('--drive', bed.drive.uuid)).id, newest.id, 'per drive too');

    const healthy = await agent(0, 'status', '--json');
    assert.equal(healthy.exitCode, 0, healthy.stdout + healthy.stderr);
    const after = JSON.parse(healthy.stdout) as { clock: unknown; lastSuccessAt: string };
    assert.equal(after.clock, null, 'the newest success has a time that makes sense');
    assert.equal(after.lastSuccessAt, newest.finishedAt);
    const again = await agent(0, 'run', '--trigger', 'hotplug');
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.equal((await lastRun()).reason, 'NOT_DUE', 'and the policy works as before');

    // The drive's own history follows the same order, and lost no dump on the way.
    const names = await driveHistory();
    assert.ok(
      names.every((name) => /^seq-\d{12}-.+\.json$/.test(name)),
      names.join(', '),
    );
    assert.match(names.at(-1) ?? '', new RegExp(`-${newest.id}\\.json$`));
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      const dumps = (await readdir(backup)).filter((name) => /^immich-db-.*\.sql\.gz$/.test(name));
      assert.ok(dumps.includes(future.database?.file ?? ''), 'the future-dated dump is kept');
      // The first run's dump of today was made before the future-dated one: it stays, and the
      // newest run's dump has a name of its own (a clock set back, from the dumps' view).
      assert.ok(dumps.includes(`immich-db-${localDate(new Date())}.sql.gz`), dumps.join(', '));
      const file = newest.database?.file ?? '-';
      assert.match(file, new RegExp(`^immich-db-${localDate(new Date())}T`));
      const fresh = await readFile(path.join(backup, file));
      assert.equal(createHash('sha256').update(fresh).digest('hex'), newest.database?.sha256);
    });
    assert.equal(await isRunning(bed.server), true);
  });

  test('a success a month ahead does not hold off the weekly window: the scheduled run backs up', async () => {
    const ahead = await agent(30 * day, 'run');
    assert.equal(ahead.exitCode, 0, ahead.stdout + ahead.stderr);
    const scheduled = await agent(0, 'run', '--trigger', 'schedule');
    assert.equal(scheduled.exitCode, 0, scheduled.stdout + scheduled.stderr);
    const record = await lastRun();
    assert.equal(record.trigger, 'schedule');
    assert.match(record.outcome, /^(success|warning)$/, `${record.reason}: ${record.message}`);
    assert.notEqual(record.power.decision, 'poweroff', 'no logind here: the machine stays on');
    const status = await agent(0, 'status', '--json');
    assert.equal(status.exitCode, 0, status.stdout + status.stderr);
    assert.equal(await isRunning(bed.server), true);
  });

  test('a run made with the clock a year behind is not hidden by the runs before it', async () => {
    const before = await lastRun();
    // From that clock, every success on record lies in the future: the plug-in run backs up.
    const behind = await agent(-365 * day, 'run', '--trigger', 'hotplug');
    assert.equal(behind.exitCode, 0, behind.stdout + behind.stderr);
    const record = await lastRun();
    assert.notEqual(record.id, before.id, 'last-run shows the newest run');
    assert.equal(record.trigger, 'hotplug');
    assert.match(record.outcome, /^(success|warning)$/);
    assert.ok(Date.parse(record.finishedAt) < Date.parse(before.finishedAt) - 300 * day);
    assert.equal((await lastRun('--drive', bed.drive.uuid)).id, record.id);
    const names = await driveHistory();
    assert.match(names.at(-1) ?? '', new RegExp(`-${record.id}\\.json$`), 'on the drive too');
    // Put right, that success is a year old: stale, and the next plug-in run backs up again.
    const status = await agent(0, 'status', '--json');
    assert.equal(status.exitCode, 4, status.stdout);
    assert.equal(
      (JSON.parse(status.stdout) as { lastSuccessAt: string }).lastSuccessAt,
      record.finishedAt,
    );
    const plugIn = await agent(0, 'run', '--trigger', 'hotplug');
    assert.equal(plugIn.exitCode, 0, plugIn.stdout + plugIn.stderr);
    assert.match((await lastRun()).outcome, /^(success|warning)$/);
    assert.equal((await agent(0, 'status')).exitCode, 0);
    assert.equal(await isRunning(bed.server), true);
  });
});

/**
 * A clock set back or ahead must never make the agent overwrite or delete a good dump or
 * version. Each test runs the real agent on the real test bed with its clock moved and shows
 * that every good dump and version it had is still there, byte for byte, that the readers
 * (verify, restore) pick the dump written last, and that the run says what it did.
 */
describe('a clock set back or ahead never costs a good dump or version', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const agent = (offsetMs: number, ...args: string[]) =>
    runAgent(['--config', bed.configFile, ...args], {
      env: offsetMs === 0 ? {} : clockOffsetEnv(offsetMs),
    });
  const config = (keepDumps: number | null) =>
    bed.writeConfig({ schedule: { syncWindowSeconds: 0 }, retention: { keepDumps } });
  const backupRun = async (
    offsetMs: number,
    ...args: string[]
  ): Promise<{ record: RunRecord; log: string }> => {
    const result = await agent(offsetMs, 'run', ...args);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.match(record.outcome, /^(success|warning)$/, `${record.reason}: ${record.message}`);
    return { record, log: result.stdout };
  };
  /** name → sha256 of every dump on the drive. */
  const dumpsOnDrive = (): Promise<Map<string, string>> =>
    withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      const found = new Map<string, string>();
      for (const name of (await readdir(backup)).filter((n) => /^immich-db-.*\.sql\.gz$/.test(n)))
        found.set(name, sha256(await readFile(path.join(backup, name))));
      return found;
    });
  const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    await config(null);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a dump dated a year ahead: verify and restore pick the one written last, retention keepDumps 1 keeps the fresh one', async () => {
    const first = await backupRun(-day);
    const ahead = await backupRun(365 * day);
    assert.equal(
      ahead.record.database?.file,
      `immich-db-${localDate(new Date(Date.now() + 365 * day))}.sql.gz`,
    );
    const now = await backupRun(0);
    const fresh = now.record.database?.file ?? '';
    const dumps = await dumpsOnDrive();
    assert.equal(dumps.get(fresh), now.record.database?.sha256, 'the fresh dump is there');
    assert.equal(dumps.get(first.record.database?.file ?? ''), first.record.database?.sha256);
    assert.equal(dumps.get(ahead.record.database?.file ?? ''), ahead.record.database?.sha256);

    // Before the fix, the future-dated dump was "the newest" for a year.
    const verify = await agent(0, 'verify', '--json');
    assert.equal(verify.exitCode, 0, verify.stdout + verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { dump: { name: string } }).dump.name, fresh);
    const plan = await agent(0, 'restore');
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, new RegExp(fresh.replace(/\./g, '\\.')));

    // Before the fix, keepDumps 1 deleted each fresh dump right after writing it.
    await config(1);
    const kept = await backupRun(0);
    const name = kept.record.database?.file ?? '';
    const left = await dumpsOnDrive();
    assert.deepEqual([...left.keys()], [name], 'only the newest dump is left');
    assert.equal(left.get(name), kept.record.database?.sha256, 'and it is the run’s own');
    assert.ok(
      logEvents(kept.log).some(
        (event) =>
          event.step === 'retention' &&
          String(event.msg).includes(ahead.record.database?.file ?? '-'),
      ),
      'it says it removed the future-dated dump',
    );
    assert.equal((await agent(0, 'verify')).exitCode, 0);
    assert.equal(await isRunning(bed.server), true);
  });

  test('a clock set back to a day that has a dump: that dump stays, the new one gets its own name', async () => {
    await config(null);
    const twoDaysAgo = localDate(new Date(Date.now() - 2 * day));
    const then = await backupRun(-2 * day);
    assert.equal(then.record.database?.file, `immich-db-${twoDaysAgo}.sql.gz`);
    await backupRun(0);
    // The clock set back to that day again: before the fix, its dump was replaced.
    const back = await backupRun(-2 * day);
    const name = back.record.database?.file ?? '';
    assert.match(name, new RegExp(`^immich-db-${twoDaysAgo}T\\d\\d-\\d\\d-\\d\\d\\.sql\\.gz$`));
    const dumps = await dumpsOnDrive();
    assert.equal(dumps.get(`immich-db-${twoDaysAgo}.sql.gz`), then.record.database?.sha256);
    assert.equal(dumps.get(name), back.record.database?.sha256);
    assert.ok(
      logEvents(back.log).some(
        (event) =>
          event.level === 'warn' &&
          /Kept immich-db-.* rather than replacing it/.test(String(event.msg)),
      ),
      'it says what it kept and why',
    );
    // The readers take the suffixed name: the newest of that day, and the newest of all.
    const byDate = await agent(0, 'verify', '--date', twoDaysAgo, '--json');
    assert.equal(byDate.exitCode, 0, byDate.stdout + byDate.stderr);
    assert.equal((JSON.parse(byDate.stdout) as { dump: { name: string } }).dump.name, name);
    const plan = await agent(0, 'restore', '--date', twoDaysAgo);
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, new RegExp(name.replace(/\./g, '\\.')));
    const listed = await agent(0, 'backups');
    assert.match(
      listed.stdout,
      new RegExp(`^${name.slice(10, -7)} `),
      'listed first, as the newest',
    );
    assert.equal(await isRunning(bed.server), true);
  });

  test('a clock set back to a second whose versions folder exists: that folder is not reused', async () => {
    const upload = path.join(bed.libraryDir, 'upload');
    const file = path.relative(
      bed.libraryDir,
      (await readdir(upload, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(entry.parentPath, entry.name))
        .sort()[0] ?? '',
    );
    const old = await readFile(path.join(bed.libraryDir, file));
    // Every second of the next three minutes has its folder already, as when a run of the same
    // day made it before the clock was set back, each holding an earlier copy of that file.
    const today = localDate(new Date());
    const taken: string[] = [today];
    for (let second = 0; second < 180; second += 1) {
      const at = new Date(Date.now() + second * 1000);
      if (localDate(at) === today)
        taken.push(`${today}T${at.toTimeString().slice(0, 8).replace(/:/g, '-')}`);
    }
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      for (const folder of taken) {
        const copy = path.join(root, 'immich-backup', 'versions', folder, file);
        await mkdir(path.dirname(copy), { recursive: true });
        await writeFile(copy, `earlier copy in ${folder}`);
      }
    });
    await writeFile(path.join(bed.libraryDir, file), 'edited');
    const { record } = await backupRun(0, '--accept-changes');
    assert.match(
      record.files?.versionsDir ?? '',
      new RegExp(`^versions/${today}T\\d\\d-\\d\\d-\\d\\d-2$`),
    );
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const versions = path.join(root, 'immich-backup', 'versions');
      for (const folder of taken)
        assert.equal(
          await readFile(path.join(versions, folder, file), 'utf8'),
          `earlier copy in ${folder}`,
          `${folder} is untouched`,
        );
      const moved = path.join(root, 'immich-backup', record.files?.versionsDir ?? '-', file);
      assert.deepEqual(await readFile(moved), old, 'the replaced copy is in a folder of its own');
    });
    assert.equal(await isRunning(bed.server), true);
  });
});
