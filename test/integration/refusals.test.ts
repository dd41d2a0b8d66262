import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { repoRoot, runAgent } from '../env/cli.js';
import { drillLabel, drillOwner } from '../../src/session/leftover-drills.js';
import { isRunning, ownerLabel, postgresImage, removeContainer } from '../env/containers.js';
import { createLoopDrive } from '../env/drive.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { containerStartedAt, isMountPoint, withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

describe('what the agent refuses, and how it leaves things', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 200 });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('with the drive absent the run exits 75 DRIVE_ABSENT and touches nothing', async () => {
    await bed.writeConfig({ drive: { uuid: randomUUID() } });
    try {
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 75, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'skipped');
      assert.equal(record.reason, 'DRIVE_ABSENT');
      assert.equal(record.server, null);
      assert.equal(record.database, null);
      assert.equal(await containerStartedAt(bed.server), before, 'the server was not touched');
      assert.equal(existsSync(bed.mountPoint), false, 'no mount point was created');
    } finally {
      await bed.writeConfig();
    }
  });

  test('a foreign filesystem at the mount point is refused: nothing written, server untouched', async () => {
    const foreign = await createLoopDrive(sandbox, { sizeMb: 16 });
    await foreign.mountAt(bed.mountPoint);
    try {
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 1, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'failed');
      assert.equal(record.reason, 'DRIVE_MISMATCH');
      assert.deepEqual(
        (await readdir(bed.mountPoint)).filter((name) => name !== 'lost+found'),
        [],
        'nothing was written to the foreign filesystem',
      );
      assert.equal(await containerStartedAt(bed.server), before);
      assert.equal(await isRunning(bed.server), true);
    } finally {
      await foreign.detach();
    }
  });

  test('a backup folder that is a symlink leading off the drive is refused', async () => {
    const automount = path.join(bed.root, 'automount');
    const offDrive = path.join(bed.root, 'on-the-root-disk');
    await mkdir(offDrive, { recursive: true });
    await bed.drive.mountAt(automount);
    try {
      await symlink(offDrive, path.join(automount, 'immich-backup'));
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 1, result.stdout + result.stderr);
      assert.equal((await bed.lastRun()).reason, 'DRIVE_MISMATCH');
      assert.deepEqual(await readdir(offDrive), [], 'nothing was written off the drive');
      assert.equal(await containerStartedAt(bed.server), before);
      await execa('rm', ['--', path.join(automount, 'immich-backup')]);
    } finally {
      await bed.drive.unmountAll();
    }
  });

  test('a second run while one holds the lock exits 75 ALREADY_RUNNING', async () => {
    // A real process holds the lock, as a long backup would.
    const holder = execa(
      'node',
      ['--import', 'tsx', path.join(repoRoot, 'test/env/hold-lock.ts'), bed.stateDir],
      { cwd: repoRoot, buffer: false },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on(
          'data',
          (chunk: Buffer) => chunk.toString().includes('locked') && resolve(),
        );
        holder.catch(reject);
      });
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 75, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'skipped');
      assert.equal(record.reason, 'ALREADY_RUNNING');
      assert.match(record.message, /run holder/);
      assert.equal(await containerStartedAt(bed.server), before);
    } finally {
      holder.kill('SIGKILL');
      await holder.catch(() => undefined);
    }
    // The lock of the killed holder is stale now: the next run takes it over.
    const next = await bed.run('run');
    assert.equal(next.exitCode, 0, next.stdout + next.stderr);
  });

  test('with the Docker engine unreachable the run fails clearly and stops nothing', async () => {
    const before = await containerStartedAt(bed.server);
    const result = await runAgent(['--config', bed.configFile, 'run'], {
      env: { DOCKER_HOST: `unix://${bed.root}/no-docker.sock` },
    });
    assert.equal(result.exitCode, 1, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'DOCKER_UNAVAILABLE');
    assert.match(record.hint ?? '', /Start Docker/);
    assert.equal(await containerStartedAt(bed.server), before);
    assert.equal(
      await isMountPoint(bed.mountPoint),
      false,
      'the drive it mounted is unmounted again',
    );
  });

  test('a stopped database fails the run with DUMP_FAILED before the server is stopped, and keeps the last dump', async () => {
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    const goodDump = (await bed.lastRun()).database;
    await execa('docker', ['stop', bed.database]);
    try {
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 1, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.reason, 'DUMP_FAILED');
      assert.equal(await containerStartedAt(bed.server), before);
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        const names = await readdir(path.join(root, 'immich-backup'));
        assert.ok(goodDump && names.includes(goodDump.file), 'the previous dump is still there');
        assert.deepEqual(
          names.filter((name) => name.includes('.partial-')),
          [],
        );
      });
    } finally {
      await execa('docker', ['start', bed.database]);
    }
  });

  test('a missing database container fails the run with DUMP_FAILED naming it, before the server is stopped', async () => {
    // Missing as after a compose project rename: the container is there under another name only.
    const elsewhere = `${bed.database}-renamed`;
    await execa('docker', ['rename', bed.database, elsewhere]);
    try {
      const before = await containerStartedAt(bed.server);
      const result = await bed.run('run');
      assert.equal(result.exitCode, 1, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.reason, 'DUMP_FAILED');
      assert.match(record.message, new RegExp(`no container named ${bed.database}`));
      assert.match(record.hint ?? '', /immich\.databaseContainer/);
      assert.equal(await containerStartedAt(bed.server), before, 'Immich was not stopped');
      assert.equal(await isRunning(bed.server), true);
    } finally {
      await execa('docker', ['rename', elsewhere, bed.database]);
    }
  });

  test('recover removes a restore-drill container that a killed run left behind, and only its own', async () => {
    const create = async (name: string, owner: string): Promise<void> => {
      sandbox.defer(`remove container ${name}`, () => removeContainer(name));
      await execa('docker', [
        'create',
        '--name',
        name,
        '--label',
        `${drillLabel}=${owner}`,
        '--label',
        `${ownerLabel}=${sandbox.id}`,
        '--network',
        'none',
        postgresImage,
      ]);
    };
    const exists = async (name: string): Promise<boolean> =>
      (
        await execa('docker', ['ps', '-a', '--quiet', '--filter', `name=^${name}$`])
      ).stdout.trim() !== '';
    const leftover = `iba-test-${sandbox.id}-drill-leftover`;
    const anothers = `iba-test-${sandbox.id}-drill-of-another-installation`;
    await create(leftover, drillOwner(bed.stateDir));
    await create(anothers, drillOwner('/var/lib/another-installation'));
    const result = await bed.run('recover');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /a restore drill left by a killed run/);
    assert.equal(await exists(leftover), false, 'the leftover drill container is gone');
    assert.equal(await exists(anothers), true, "another installation's drill is left alone");
  });

  test('after a run was killed with the server stopped, recover starts it again', async () => {
    // What a SIGKILLed run leaves: the server stopped and the note saying so.
    await execa('docker', ['stop', bed.server]);
    await mkdir(bed.stateDir, { recursive: true });
    await execa('node', [
      '-e',
      `require('fs').writeFileSync(process.argv[1], JSON.stringify({ container: process.argv[2], runId: 'killed', pid: 999999, stoppedAt: new Date().toISOString() }))`,
      path.join(bed.stateDir, 'server-stopped.json'),
      bed.server,
    ]);
    const result = await bed.run('recover');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(await isRunning(bed.server), true);
    assert.equal(existsSync(path.join(bed.stateDir, 'server-stopped.json')), false);
    assert.match(result.stdout, /died before starting it again/);

    // The next run of any kind does the same before it starts.
    await execa('docker', ['stop', bed.server]);
    await execa('node', [
      '-e',
      `require('fs').writeFileSync(process.argv[1], JSON.stringify({ container: process.argv[2], runId: 'killed', pid: 999999, stoppedAt: new Date().toISOString() }))`,
      path.join(bed.stateDir, 'server-stopped.json'),
      bed.server,
    ]);
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.equal(await isRunning(bed.server), true);
  });
});

describe('configuration that cannot be used', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await createSandbox();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  const write = async (name: string, text: string, mode = 0o600): Promise<string> => {
    const file = sandbox.path(name);
    await execa('bash', [
      '-c',
      'printf "%s" "$1" > "$2" && chmod "$3" "$2"',
      '_',
      text,
      file,
      mode.toString(8),
    ]);
    return file;
  };

  test('exits 2 and names every problem with its key path, all at once', async () => {
    const file = await write(
      'bad.yml',
      [
        'immich:',
        '  appDir: relative/path',
        'drive:',
        '  mountpoint: /mnt/x',
        'schedule:',
        '  cron: "every sunday"',
        'power:',
        '  delaySeconds: -5',
        '',
      ].join('\n'),
    );
    const result = await runAgent(['--config', file, 'run']);
    assert.equal(result.exitCode, 2);
    for (const expected of [
      'immich.appDir',
      'drive.uuid',
      'drive.mountpoint',
      'schedule.cron',
      'power.delaySeconds',
    ]) {
      assert.ok(result.stderr.includes(expected), `${expected} is named in: ${result.stderr}`);
    }
  });

  test('refuses a config writable by group or others, or not owned by root', async () => {
    const body = `drive:\n  uuid: ${randomUUID()}\nimmich:\n  libraryDir: /tmp\n`;
    const groupWritable = await write('group.yml', body, 0o664);
    const result = await runAgent(['--config', groupWritable, 'run']);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /writable by its group/);

    const foreignOwner = await write('owner.yml', body, 0o600);
    await execa('chown', ['1000:1000', foreignOwner]);
    const owned = await runAgent(['--config', foreignOwner, 'last-run']);
    assert.equal(owned.exitCode, 2);
    assert.match(owned.stderr, /owned by uid 1000, not root/);
  });

  test('a missing config file and an unknown trigger are usage errors', async () => {
    const missing = await runAgent(['--config', sandbox.path('nope.yml'), 'run']);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /No configuration file/);
    const badTrigger = await runAgent(['run', '--trigger', 'sometimes']);
    assert.equal(badTrigger.exitCode, 2);
  });
});
