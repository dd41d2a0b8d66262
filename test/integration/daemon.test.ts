import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { agentEnv, cliPath } from '../env/cli.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

interface Daemon {
  process: ResultPromise;
  events: Record<string, unknown>[];
  /** Resolves with the first event that matches, or rejects after the timeout. */
  waitFor(
    match: (event: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<{ exitCode: number | undefined; ms: number }>;
}

function startDaemon(bed: ImmichBed): Daemon {
  const child = execa('node', [cliPath, '--config', bed.configFile, 'daemon'], {
    buffer: false,
    reject: false,
    env: agentEnv(),
  });
  const events: Record<string, unknown>[] = [];
  const waiters: {
    match: (event: Record<string, unknown>) => boolean;
    resolve: (event: Record<string, unknown>) => void;
  }[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter((entry) => entry.startsWith('{'))) {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.match(event)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
    }
  });
  return {
    process: child,
    events,
    waitFor(match, timeoutMs) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching daemon event within ${timeoutMs} ms; saw: ${events.map((event) => String(event.msg)).join(' | ')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ match, resolve: (event) => (clearTimeout(timer), resolve(event)) });
      });
    },
    async stop() {
      const started = Date.now();
      child.kill('SIGTERM');
      const result = await child;
      return { exitCode: result.exitCode, ms: Date.now() - started };
    },
  };
}

describe('the daemon', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const daemons: Daemon[] = [];

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 100, driveSizeMb: 256 });
    await bed.writeConfig({ schedule: { cron: '* * * * *', syncWindowSeconds: 0 } });
  });
  after(async () => {
    for (const daemon of daemons) daemon.process.kill('SIGKILL');
    await sandbox?.dispose();
  });

  test('with an every-minute cron it runs a scheduled backup by itself, and stops cleanly on SIGTERM', async () => {
    // Start early in a minute, right after a success, so nothing is due until the next window.
    while (new Date().getSeconds() > 40) await new Promise((resolve) => setTimeout(resolve, 1000));
    const manual = await bed.run('run');
    assert.equal(manual.exitCode, 0, manual.stdout + manual.stderr);
    const daemon = startDaemon(bed);
    daemons.push(daemon);
    await daemon.waitFor((event) => /Daemon started/.test(String(event.msg)), 15_000);
    const finished = await daemon.waitFor(
      (event) => /The scheduled run ended/.test(String(event.msg)),
      90_000,
    );
    assert.equal(finished.outcome, 'success', JSON.stringify(daemon.events.slice(-5)));
    assert.equal(
      daemon.events.some((event) => /catching up/.test(String(event.msg))),
      false,
      'it was the schedule, not a catch-up',
    );
    const record = await bed.lastRun();
    assert.equal(record.trigger, 'schedule');
    assert.equal(record.outcome, 'success');
    assert.equal(await isRunning(bed.server), true);

    const stopped = await daemon.stop();
    assert.equal(stopped.exitCode, 0);
    assert.ok(stopped.ms < 10_000, `stopped in ${stopped.ms} ms`);
  });

  test('SIGTERM in the middle of a backup aborts it, brings the server back and exits 0 within seconds', async () => {
    // Enough small files that the copy takes a while, and a fresh state folder: never backed up,
    // so the daemon catches up at once.
    const many = path.join(bed.libraryDir, 'upload', 'many');
    await mkdir(many, { recursive: true });
    for (let folder = 0; folder < 40; folder += 1) {
      await mkdir(path.join(many, String(folder)));
      await Promise.all(
        Array.from({ length: 500 }, (_, index) =>
          writeFile(
            path.join(many, String(folder), `IMG_${index}.jpg`),
            `photo ${folder}/${index}`,
          ),
        ),
      );
    }
    await bed.writeConfig({
      schedule: { cron: '* * * * *', syncWindowSeconds: 0 },
      stateDir: path.join(bed.root, 'state-2'),
    });
    const daemon = startDaemon(bed);
    daemons.push(daemon);
    await daemon.waitFor(
      (event) => event.step === 'sync' && /Copying/.test(String(event.msg)),
      60_000,
    );
    const stopped = await daemon.stop();
    assert.equal(stopped.exitCode, 0, JSON.stringify(daemon.events.slice(-6)));
    assert.ok(stopped.ms < 20_000, `stopped in ${stopped.ms} ms`);
    assert.equal(await isRunning(bed.server), true, 'the server runs again');
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'interrupted', record.message);
    assert.equal(record.reason, 'INTERRUPTED');
    assert.ok(record.server?.startedAt, 'the record shows the restart');

    const next = await bed.run('run');
    assert.equal(next.exitCode, 0, 'the next run succeeds');
  });
});
