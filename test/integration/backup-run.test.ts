import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localDate } from '../../src/format.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { fingerprint, restoreIntoFreshDatabase } from '../env/immich-database.js';
import {
  containerStartedAt,
  isMountPoint,
  partialFiles,
  withDriveMounted,
} from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { logEvents, repoRoot } from '../env/cli.js';

describe('a manual backup against a real engine, database and loop drive', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('leaves the seed’s layout on the drive, the dump restores with every row, and the server runs again', async () => {
    const original = await fingerprint(bed.database);
    const startedBefore = await containerStartedAt(bed.server);
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);

    assert.equal(await isRunning(bed.server), true, 'the server runs after the backup');
    assert.notEqual(
      await containerStartedAt(bed.server),
      startedBefore,
      'the server was stopped and started',
    );
    assert.equal(await isMountPoint(bed.mountPoint), false, 'the agent unmounts what it mounted');
    assert.equal(
      existsSync(bed.mountPoint),
      false,
      'and removes the mount point folder it created',
    );

    const dumpName = `immich-db-${localDate(new Date())}.sql.gz`;
    await withDriveMounted(sandbox, bed.drive, async (driveRoot) => {
      const backup = path.join(driveRoot, 'immich-backup');
      assert.ok(existsSync(path.join(backup, dumpName)), 'the dump is named after the local date');
      assert.deepEqual(
        await snapshotTree(path.join(backup, 'files')),
        await snapshotTree(bed.libraryDir),
        'files/ equals the library',
      );
      assert.equal(
        await readFile(path.join(backup, 'docker-compose.yml'), 'utf8'),
        await readFile(path.join(bed.appDir, 'docker-compose.yml'), 'utf8'),
      );
      assert.equal(
        await readFile(path.join(backup, '.env'), 'utf8'),
        await readFile(path.join(bed.appDir, '.env'), 'utf8'),
      );
      assert.equal(
        (await stat(path.join(backup, '.env'))).mode & 0o777,
        0o600,
        '.env stays private on the drive',
      );
      assert.deepEqual(await partialFiles(driveRoot), [], 'no temporary file is left');
      assert.ok(
        existsSync(path.join(backup, 'files', 'upload', '.immich')),
        'the hidden .immich markers are copied',
      );
      const restored = await restoreIntoFreshDatabase(sandbox, path.join(backup, dumpName));
      assert.equal(restored, original, 'the restored database has the same rows');
    });

    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success');
    assert.equal(record.reason, null);
    assert.equal(record.trigger, 'manual');
    assert.equal(record.drive?.uuid, bed.drive.uuid);
    assert.equal(record.drive?.mountPoint, bed.mountPoint);
    assert.equal(record.database?.file, dumpName);
    assert.ok((record.database?.bytes ?? 0) > 10_000);
    assert.ok((record.files?.transferredFiles ?? 0) > 40);
    assert.ok(record.server?.stoppedAt && record.server.startedAt && record.server.downtimeMs > 0);
    assert.equal(record.power.decision, 'not-applicable');
    assert.ok(record.nextDueAt && Date.parse(record.nextDueAt) > Date.now());
    for (const key of ['id', 'startedAt', 'finishedAt'])
      assert.equal(typeof (record as unknown as Record<string, unknown>)[key], 'string');

    const log = await readFile(bed.logFile, 'utf8');
    const events = log
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(events.length > 5);
    for (const event of events) {
      assert.equal(
        event.runId,
        record.id,
        `every event has the run's id: ${JSON.stringify(event)}`,
      );
      assert.equal(typeof event.step, 'string', `every event has a step: ${JSON.stringify(event)}`);
    }
    assert.equal(log.includes(bed.password), false, 'the database password never reaches the log');
    assert.equal(result.stdout.includes(bed.password), false, 'nor the console');
    assert.equal(
      existsSync(path.join(repoRoot, 'PWNED')) || existsSync(sandbox.path('PWNED')),
      false,
      'no name was run by a shell',
    );
  });

  test('a second run copies nothing, and a file deleted from the library stays in the backup', async () => {
    const second = await bed.run('run');
    assert.equal(second.exitCode, 0, second.stdout + second.stderr);
    assert.equal((await bed.lastRun()).files?.transferredFiles, 0);

    const removed = path.join('library', 'admin', '2024', 'Ünïcödé 📷 Ferien am Meer.heic');
    await rm(path.join(bed.libraryDir, removed));
    await writeFile(path.join(bed.libraryDir, 'upload', 'new photo (1).jpg'), 'new');
    const third = await bed.run('run');
    assert.equal(third.exitCode, 0, third.stdout + third.stderr);
    assert.equal((await bed.lastRun()).files?.transferredFiles, 1);
    await withDriveMounted(sandbox, bed.drive, (driveRoot) => {
      assert.ok(
        existsSync(path.join(driveRoot, 'immich-backup', 'files', removed)),
        'never --delete',
      );
      assert.ok(
        existsSync(path.join(driveRoot, 'immich-backup', 'files', 'upload', 'new photo (1).jpg')),
      );
      const history = path.join(driveRoot, 'immich-backup', '.immich-backup-agent', 'runs');
      assert.ok(existsSync(history), 'the drive carries its own history');
    });
    assert.equal(await isRunning(bed.server), true);
  });

  test('a drive that is already mounted elsewhere is used there and left mounted', async () => {
    const automount = path.join(bed.root, 'run', 'media', 'gonzalo', 'AUTO MOUNT');
    await bed.drive.mountAt(automount);
    try {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      assert.equal(await isMountPoint(automount), true, 'a mount the agent did not make stays');
      assert.equal((await bed.lastRun()).drive?.mountPoint, automount);
      assert.equal((await bed.lastRun()).drive?.mountedByAgent, false);
      assert.equal(existsSync(bed.mountPoint), false, 'nothing was created at drive.mountPoint');
      const dry = await bed.run('run', '--dry-run');
      const messages = logEvents(dry.stdout)
        .map((event) => event.msg)
        .join('\n');
      assert.match(
        messages,
        /Would copy 0 new or changed files/,
        'a dry run on a mounted drive measures the copy',
      );
    } finally {
      await bed.drive.unmountAll();
    }
  });

  test('a dry run prints the plan and changes nothing', async () => {
    const before = await containerStartedAt(bed.server);
    const recordBefore = await bed.lastRun();
    const logBefore = await readFile(bed.logFile, 'utf8');
    const result = await bed.run('run', '--dry-run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const messages = logEvents(result.stdout)
      .map((event) => event.msg)
      .join('\n');
    assert.match(messages, /Would mount/);
    assert.match(messages, /Would stop/);
    assert.match(messages, /Would dump database "immich"/);
    assert.equal(await containerStartedAt(bed.server), before, 'the server was not touched');
    assert.equal(await isMountPoint(bed.mountPoint), false);
    assert.deepEqual(await bed.lastRun(), recordBefore, 'no record was written');
    assert.equal(await readFile(bed.logFile, 'utf8'), logBefore, 'nor a log line');
  });

  test('log shows the last events readably, or as JSON lines', async () => {
    const readable = await bed.run('log', '-n', '5');
    assert.equal(readable.exitCode, 0, readable.stderr);
    const lines = readable.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    for (const line of lines)
      assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}(INFO|WARN) {1,2}(\[[a-z-]+\] )?\S/);
    const json = await bed.run('log', '-n', '3', '--json');
    const events = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { runId?: string });
    assert.equal(events.length, 3);
    assert.ok(events.every((event) => typeof event.runId === 'string'));
    assert.equal((await bed.run('log', '-n', 'many')).exitCode, 2, 'a bad count is a usage error');
  });
});
