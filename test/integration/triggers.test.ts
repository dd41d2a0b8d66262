import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { runAgent, logEvents } from '../env/cli.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { containerStartedAt } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** Local wall-clock parts of an instant in a zone. */
function wallClock(iso: string, timeZone: string): { weekday: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'long',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const part = (type: string): string => parts.find((entry) => entry.type === type)?.value ?? '';
  return { weekday: part('weekday'), time: `${part('hour')}:${part('minute')}` };
}

describe('triggers and the due policy, through the CLI', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const zone = 'Europe/Berlin';
  const agent = (...args: string[]) =>
    runAgent(['--config', bed.configFile, ...args], { env: { TZ: zone } });

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 100 });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('the first plug-in run on a fresh state runs; the second is skipped as NOT_DUE and touches nothing', async () => {
    const first = await agent('run', '--trigger', 'hotplug');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.equal((await bed.lastRun()).outcome, 'success');

    const before = await containerStartedAt(bed.server);
    const second = await agent('run', '--trigger', 'hotplug');
    assert.equal(second.exitCode, 0, second.stdout + second.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'skipped');
    assert.equal(record.reason, 'NOT_DUE');
    assert.equal(record.server, null);
    assert.equal(record.drive?.uuid, bed.drive.uuid, 'the record names the drive it was for');
    assert.equal(record.drive?.device, null, 'the drive was not even looked for');
    assert.equal(await containerStartedAt(bed.server), before, 'the server was not touched');
    assert.ok(record.nextDueAt);
    assert.deepEqual(
      wallClock(record.nextDueAt, zone),
      { weekday: 'Sunday', time: '02:05' },
      'next due is the Sunday 02:05 window, local time',
    );
  });

  test('--force runs a plug-in run that is not due', async () => {
    const forced = await agent('run', '--trigger', 'hotplug', '--force');
    assert.equal(forced.exitCode, 0, forced.stdout + forced.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success');
    assert.equal(record.forced, true);
  });

  test('two runs started at once: one runs, the other exits 75 ALREADY_RUNNING', async () => {
    const results = await Promise.all([agent('run'), agent('run')]);
    assert.deepEqual(
      results.map((result) => result.exitCode).sort((a, b) => a - b),
      [0, 75],
      results.map((result) => result.stdout + result.stderr).join('\n---\n'),
    );
    const loser = results.find((result) => result.exitCode === 75);
    assert.ok(
      logEvents(loser?.stdout ?? '').some((event) => /Another backup/.test(String(event.msg))),
      'the loser says why in its log',
    );
    assert.equal(await isRunning(bed.server), true);
  });

  test('a scheduled run without the drive exits 75 DRIVE_ABSENT at once, without waiting the sync window', async () => {
    const absent = randomUUID();
    await bed.writeConfig({ drive: { uuid: absent }, schedule: { syncWindowSeconds: 1200 } });
    try {
      const started = Date.now();
      const result = await agent('run', '--trigger', 'schedule', '--force');
      assert.equal(result.exitCode, 75, result.stdout + result.stderr);
      assert.ok(Date.now() - started < 60_000, 'it did not wait the 20-minute window');
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'skipped');
      assert.equal(record.reason, 'DRIVE_ABSENT');
      assert.deepEqual(
        [record.drive?.uuid, record.drive?.device, record.drive?.mountPoint],
        [absent, null, null],
        'the record names the drive that was looked for, found nowhere',
      );
    } finally {
      await bed.writeConfig();
    }
  });

  test('a scheduled run waits the sync window first, then backs up', async () => {
    await bed.writeConfig({ schedule: { syncWindowSeconds: 2 } });
    try {
      const result = await agent('run', '--trigger', 'schedule', '--force');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const events = logEvents(result.stdout);
      const waited = events.find(
        (event) => event.step === 'sync-window' && typeof event.waitedMs === 'number',
      );
      assert.ok(waited && Number(waited.waitedMs) >= 1900, 'it waited about two seconds');
      const stop = events.findIndex((event) => event.step === 'stop');
      assert.ok(stop > events.indexOf(waited), 'the server was stopped only after the window');
      assert.equal((await bed.lastRun()).trigger, 'schedule');
    } finally {
      await bed.writeConfig();
    }
  });

  test('status tells healthy (0), failed (1) and stale (4)', async () => {
    const healthy = await agent('status', '--json');
    assert.equal(healthy.exitCode, 0, healthy.stdout + healthy.stderr);
    const status = JSON.parse(healthy.stdout) as {
      health: string;
      drives: {
        present: boolean;
        freeBytes: number;
        freeBytesAt: string | null;
        nextBackupBytes: number | null;
        fits: boolean | null;
        identity: { usb: boolean };
      }[];
      running: unknown;
      lastSuccessAt: string;
    };
    assert.equal(status.health, 'healthy');
    assert.equal(status.drives[0]?.present, true);
    assert.ok((status.drives[0]?.freeBytes ?? 0) > 0, 'the free space of the last backup');
    assert.equal(status.drives[0]?.freeBytesAt, 'last-backup', 'the drive is not mounted now');
    // Nothing was added since the last backup: the estimate is about one dump, not the library.
    assert.equal(status.drives[0]?.fits, true);
    assert.ok((status.drives[0]?.nextBackupBytes ?? Infinity) < 5 * 1024 * 1024);
    assert.equal(status.drives[0]?.identity.usb, false, 'a loop device is not a USB device');
    assert.equal(status.running, null);
    assert.ok(status.lastSuccessAt);
    const human = await agent('status');
    assert.match(human.stdout, /Immich backup: healthy/);

    await execa('docker', ['stop', bed.database]);
    try {
      const failedRun = await agent('run');
      assert.equal(failedRun.exitCode, 1);
      const failed = await agent('status');
      assert.equal(failed.exitCode, 1, failed.stdout);
      assert.match(failed.stdout, /THE LAST RUN FAILED/);
      assert.match(failed.stdout, /docker start/);
    } finally {
      await execa('docker', ['start', bed.database]);
    }
    await agent('run', '--trigger', 'hotplug', '--force');
    await bed.writeConfig({ schedule: { maxAgeDays: 0.00001 } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const stale = await agent('status');
      assert.equal(stale.exitCode, 4, stale.stdout);
      assert.match(stale.stdout, /STALE/);
    } finally {
      await bed.writeConfig();
    }
  });
});
