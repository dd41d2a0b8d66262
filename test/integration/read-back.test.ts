import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm, stat, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/cli/status-read.js';
import type { FullReadBackReport } from '../../src/verify/full-read-back.js';
import { execa } from 'execa';
import { agentEnv, cliPath, type CliResult } from '../env/cli.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { containerStartedAt } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** Waits (up to 60 s) for `condition`, looking every 50 ms. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 1200; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting: ${what}`);
}

describe('the drive proves itself against Immich’s own checksums', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let editMount: string;
  let originals: string[];
  let flipped: string;
  let deleted: string;

  /** Mounts the drive read-write in a folder of the test's own, for damaging it on purpose. */
  async function onDrive<T>(work: (filesDir: string) => Promise<T>): Promise<T> {
    await bed.drive.mountAt(editMount);
    try {
      return await work(path.join(editMount, 'immich-backup', 'files'));
    } finally {
      await bed.drive.unmountAll();
    }
  }

  async function verifyFull(): Promise<{ exitCode: number; report: FullReadBackReport }> {
    const result = await bed.run('verify', '--full', '--json');
    try {
      return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as FullReadBackReport };
    } catch {
      throw new Error(`verify --full printed no report: ${result.stdout}${result.stderr}`);
    }
  }

  async function status(): Promise<Status> {
    return JSON.parse((await bed.run('status', '--json')).stdout) as Status;
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 600 });
    editMount = path.join(bed.root, 'edit mount');
    await bed.writeConfig({ verify: { readBackSeconds: 300, fullCycleDays: 56 } });
    originals = [...bed.originals.originals.keys()].sort();
    // Two originals of different owners and folders: one to flip a byte of, one to lose.
    flipped = originals.find((file) => file.startsWith('library/')) as string;
    deleted = originals.find((file) => file.startsWith('upload/')) as string;
    assert.ok(flipped && deleted, 'the bed has originals in library/ and upload/');
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('a backup reads back its share of the originals and status says how far the cycle is', async () => {
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', JSON.stringify(record.warnings));
    assert.ok(record.readBack, 'the record has the read-back');
    // 56 days, weekly backups: an eighth of the originals per run.
    assert.equal(record.readBack.checkedFiles, Math.ceil(originals.length / 8));
    assert.deepEqual(record.readBack.mismatches, []);
    assert.deepEqual(record.readBack.missing, []);
    assert.ok(record.readBack.bytesPerSecond > 0);
    assert.ok(Math.abs(record.readBack.cycleCoverage - 1 / 8) < 0.01);
    const verification = (await status()).verification;
    assert.equal(verification.lastFullCycleAt, null);
    assert.equal(verification.mismatches, 0);
    assert.ok(Math.abs((verification.coverage?.share ?? 0) - 1 / 8) < 0.01);
    const text = (await bed.run('status')).stdout;
    assert.match(
      text,
      /Originals: +not every original re-read yet: 12% of this cycle; 0 mismatches/,
    );
  });

  test('verify --full on a good drive: every original matches, external ones are outside', async () => {
    const server = await containerStartedAt(bed.server);
    const { exitCode, report } = await verifyFull();
    assert.equal(exitCode, 0, JSON.stringify(report, null, 2));
    assert.equal(report.ok, true);
    assert.equal(report.originals.checked, originals.length);
    assert.equal(report.originals.mismatches.count, 0);
    assert.equal(report.originals.missing.count, 0);
    assert.equal(report.originals.notFollowed.count, 0);
    assert.ok(report.originals.trashed > 0, 'trashed assets are counted');
    // The bed's external library: every 150th asset (of 600), under /mnt/external/Photos 2019.
    assert.equal(report.outside.count, 4);
    assert.deepEqual(report.outside.folders, ['/mnt/external/Photos 2019']);
    assert.equal(report.referenced.missing.count, 0);
    assert.ok(report.referenced.present > 0 && report.referenced.regenerable > 0);
    assert.equal(await containerStartedAt(bed.server), server, 'the server was not touched');
    assert.equal(await isRunning(bed.server), true);
    const verification = (await status()).verification;
    assert.ok(verification.lastFullCycleAt, 'a full verify completes a cycle');
    assert.equal(verification.coverage?.everyOriginalWithinDays, 0);
    assert.match(
      (await bed.run('status')).stdout,
      /every original re-read within the last 0 days; 0 mismatches/,
    );
  });

  test('verify --full gives way to a backup that needs the drive: the backup runs, the check says to run again', async () => {
    const lockFile = path.join(bed.stateDir, 'run.lock');
    const holder = async (): Promise<string | null> =>
      readFile(lockFile, 'utf8')
        .then((text) => (JSON.parse(text) as { trigger: string }).trigger)
        .catch(() => null);
    // This backup leaves the read-back's cycle alone (the tests after it count on it).
    await bed.writeConfig({ verify: { readBackSeconds: 0, fullCycleDays: 56 } });
    const verifying = execa('node', [cliPath, '--config', bed.configFile, 'verify', '--full'], {
      reject: false,
      env: agentEnv(),
      stdin: 'ignore',
    });
    const pid = verifying.pid as number;
    let backup: Promise<CliResult> | null = null;
    try {
      await until(async () => (await holder()) === 'verify-full', 'verify --full holds the lock');
      // Paused while it holds the drive, so the backup surely finds it there.
      process.kill(pid, 'SIGSTOP');
      backup = bed.run('run');
      await until(
        () => Promise.resolve(existsSync(path.join(bed.stateDir, 'lock.wanted'))),
        'the backup asks it to stop',
      );
      process.kill(pid, 'SIGCONT');
      const verified = await verifying;
      assert.equal(verified.exitCode, 75, String(verified.stdout) + String(verified.stderr));
      assert.match(String(verified.stdout), /a backup needed the drive, and backups come first/);
      const result = await backup;
      assert.equal(result.exitCode, 0, result.stdout.slice(-2000) + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'success', record.message);
      assert.ok(record.database && record.files, 'the backup was made');
      assert.equal(existsSync(path.join(bed.stateDir, 'lock.wanted')), false);
      assert.equal(await isRunning(bed.server), true);
    } finally {
      // Never left paused, whatever failed (it may have ended already).
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
      verifying.kill();
      await verifying;
      await backup;
      await bed.writeConfig({ verify: { readBackSeconds: 300, fullCycleDays: 56 } });
    }
  });

  test('a flipped byte and a lost original on the drive are named, and nothing else', async () => {
    await onDrive(async (filesDir) => {
      const file = path.join(filesDir, flipped);
      const before = await stat(file);
      const handle = await open(file, 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, 7);
        byte[0] = (byte[0] as number) ^ 0x01;
        await handle.write(byte, 0, 1, 7);
      } finally {
        await handle.close();
      }
      // Same size, same mtime: bit rot that rsync's quick check cannot see.
      await utimes(file, before.atime, before.mtime);
      await rm(path.join(filesDir, deleted));
    });
    const { exitCode, report } = await verifyFull();
    assert.equal(exitCode, 1);
    assert.deepEqual(report.originals.mismatches, { count: 1, names: [flipped] });
    assert.deepEqual(report.originals.missing, { count: 1, names: [deleted] });
    assert.equal(report.originals.checked, originals.length - 1);
    assert.equal(report.originals.notFollowed.count + report.originals.unreadable.count, 0);
    assert.equal(report.referenced.missing.count, 0);
    const human = await bed.run('verify', '--full');
    assert.equal(human.exitCode, 1);
    assert.match(human.stdout, /2 DAMAGED OR MISSING ORIGINALS/);
    assert.ok(human.stdout.includes(flipped) && human.stdout.includes(deleted), human.stdout);
    const verification = (await status()).verification;
    assert.equal(verification.mismatches, 1);
    assert.equal(verification.missing, 1);
    assert.deepEqual([...verification.names].sort(), [deleted, flipped].sort());
  });

  test('the next run’s read-back names the damaged original: BACKUP_DAMAGED', async () => {
    // A one-day cycle: this run's share is everything. The lost original was lost from the
    // library too, so the copy cannot bring it back.
    await bed.writeConfig({ verify: { readBackSeconds: 300, fullCycleDays: 1 } });
    await rm(path.join(bed.libraryDir, deleted));
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'warning');
    assert.equal(record.reason, 'BACKUP_DAMAGED');
    assert.deepEqual(record.readBack?.mismatches, [flipped]);
    assert.deepEqual(record.readBack?.missing, [deleted]);
    assert.equal(record.readBack?.checkedFiles, originals.length - 1);
    assert.equal(record.readBack?.cycleCoverage, 1);
    assert.ok(record.warnings.some((warning) => warning.includes(flipped)));
    assert.equal(await isRunning(bed.server), true);
  });

  test('the run after it copies the damaged original again from the library: the drive matches Immich again', async () => {
    const marked = await onDrive(async (filesDir) => stat(path.join(filesDir, flipped)));
    assert.equal(marked.mtimeMs, 0, 'the mismatching copy was marked to be copied again');
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.deepEqual(record.originals?.damaged ?? [], [], 'the library’s copy is good');
    assert.equal(record.files?.versionedFiles, 1, 'the damaged copy went to versions/');
    assert.deepEqual(record.readBack?.mismatches, []);
    assert.deepEqual(record.readBack?.missing, [deleted], 'lost from the library too');
    const copy = await onDrive(async (filesDir) => readFile(path.join(filesDir, flipped)));
    assert.equal(
      createHash('sha1').update(copy).digest('hex'),
      bed.originals.originals.get(flipped),
      'the copy on the drive is Immich’s original again',
    );
  });

  test('a symlink planted on the drive in an original’s place is not followed, and named', async () => {
    const planted = originals.find((file) => file !== flipped && file !== deleted) as string;
    await onDrive(async (filesDir) => {
      await rm(path.join(filesDir, planted));
      await symlink('/etc/shadow', path.join(filesDir, planted));
    });
    const { exitCode, report } = await verifyFull();
    assert.equal(exitCode, 1);
    assert.deepEqual(report.originals.notFollowed.names, [`${planted} (is a symlink)`]);
    assert.deepEqual(report.originals.mismatches.names, [], 'the flipped one was copied again');
  });
});
