import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { stringify } from 'yaml';
import type { RunRecord } from '../../src/history/record.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { sandboxInHost, startSystemdHost, type SystemdHost } from '../env/systemd-host.js';

/**
 * The deployed chain under a real systemd (252, PID 1 in a container): the agent installed with
 * its own `install`, the units exactly as shipped (their hardening included), driven through
 * systemctl and udev, against the same engine, database and loop drive as the other tests.
 */
describe('the shipped units under a real systemd', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let host: SystemdHost;
  let unit = '';
  const daemon = 'immich-backup-agent.service';

  const inHost = (hostPath: string): string =>
    hostPath.replace(sandbox.dir, sandboxInHost(sandbox));

  async function writeHostConfig(extra: Record<string, unknown> = {}): Promise<void> {
    const config = {
      immich: { appDir: inHost(bed.appDir) },
      // The drive is a loop device: the installed udev rule ignores those unless allowed.
      drive: {
        uuid: bed.drive.uuid,
        mountPoint: `/mnt/iba-backup-${sandbox.id}`,
        allowLoopDevices: true,
      },
      // Every plug-in run is due (the last success is "stale" after a second), no waiting for
      // uploads, and the test host is never powered off.
      schedule: { syncWindowSeconds: 0, maxAgeDays: 0.00001 },
      power: { idleShutdown: false },
      notify: { desktop: false },
      ...extra,
    };
    const file = sandbox.path('host-config.yml');
    await writeFile(file, stringify(config));
    const result = await host.exec(
      'sh',
      '-c',
      `mkdir -p /etc/immich-backup-agent && install -m 600 -o root -g root "$1" /etc/immich-backup-agent/config.yml`,
      '_',
      inHost(file),
    );
    assert.equal(result.exitCode, 0, result.stderr);
  }

  async function lastRun(): Promise<RunRecord> {
    const result = await host.agent('last-run', '--json');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    return JSON.parse(result.stdout) as RunRecord;
  }

  async function property(unitName: string, name: string): Promise<string> {
    return (await host.exec('systemctl', 'show', '-p', name, '--value', unitName)).stdout.trim();
  }

  async function journal(unitName: string, sinceLine = 0): Promise<string> {
    const text = (await host.exec('journalctl', '-u', unitName, '--no-pager', '-o', 'cat')).stdout;
    return text.split('\n').slice(sinceLine).join('\n');
  }

  /** How many lines the unit's journal has now: what comes after is the next run's. */
  async function journalLength(unitName: string): Promise<number> {
    return (await journal(unitName)).split('\n').length - 1;
  }

  async function waitFor(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs = 60_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The device unit of the drive, active once the host's udevd has seen the device. */
  async function waitForDeviceUnit(): Promise<string> {
    const sysfs = (
      await execa('realpath', [`/sys/class/block/${path.basename(bed.drive.device)}`])
    ).stdout.trim();
    const device = (
      await host.exec('systemd-escape', '--path', '--suffix=device', sysfs)
    ).stdout.trim();
    await host.exec('udevadm', 'trigger', '--action=change', bed.drive.device);
    await waitFor(
      `${device} to be active`,
      async () => (await host.exec('systemctl', 'is-active', device)).stdout.trim() === 'active',
    );
    unit = (
      await host.exec(
        'systemd-escape',
        '--template',
        'immich-backup-agent-hotplug@.service',
        '--path',
        sysfs,
      )
    ).stdout.trim();
    return device;
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 200, driveSizeMb: 256 });
    host = await startSystemdHost(sandbox);
    // Installed while the drive is unplugged, so the daemon has nothing to catch up at "boot".
    await bed.drive.detach();
    await writeHostConfig();
    const install = await host.agent(
      'install',
      '--app-dir',
      inHost(bed.appDir),
      '--uuid',
      bed.drive.uuid,
    );
    assert.equal(install.exitCode, 0, install.stdout + install.stderr);
    assert.match(install.stdout, /ran: systemctl enable --now immich-backup-agent\.service/);
    await waitFor('the daemon to find no drive', async () =>
      /drive is not attached/.test(await journal(daemon)),
    );
    await bed.drive.reattach();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('install enabled and started the daemon, with the shipped hardening, exposure ≤ 3.5', async (context) => {
    assert.equal((await host.exec('systemctl', 'is-enabled', daemon)).stdout.trim(), 'enabled');
    assert.equal((await host.exec('systemctl', 'is-active', daemon)).stdout.trim(), 'active');
    for (const name of [
      daemon,
      'immich-backup-agent-hotplug@sys-devices-virtual-block-loop0.service',
    ]) {
      const security = await host.exec('systemd-analyze', 'security', '--no-pager', name);
      const exposure = Number(
        /Overall exposure level for .*: (\d+(?:\.\d+)?)/.exec(
          security.stdout + security.stderr,
        )?.[1],
      );
      // Printed, so a change to the units shows what it did to the figure (3.2 here with
      // ProtectProc=invisible; offline, `--offline=true`, 3.3 now and 3.5 before it).
      context.diagnostic(`systemd-analyze security ${name}: exposure ${exposure}`);
      assert.ok(Number.isFinite(exposure), security.stdout + security.stderr);
      assert.ok(exposure <= 3.5, `${name}: ${exposure}`);
      // The mount namespace's /proc hides other users' processes (ProtectProc=invisible).
      assert.equal(await property(name, 'ProtectProc'), 'invisible');
    }
  });

  test('systemctl start of the hotplug unit runs a full backup under the shipped hardening', async () => {
    await waitForDeviceUnit();
    const start = await host.exec('systemctl', 'start', unit);
    assert.equal(start.exitCode, 0, `${start.stderr}\n${await journal(unit)}`);
    assert.equal(await property(unit, 'Result'), 'success');
    assert.equal(await property(unit, 'ExecMainStatus'), '0');
    const record = await lastRun();
    assert.equal(record.outcome, 'success', record.message);
    assert.equal(record.trigger, 'hotplug');
    assert.equal(record.drive?.mountedByAgent, true);
    assert.match(await journal(unit), /Backup finished/);
    assert.equal(await isRunning(bed.server), true);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const names = await readdir(path.join(root, 'immich-backup'));
      assert.ok(
        names.some((name) => /^immich-db-\d{4}-\d\d-\d\d\.sql\.gz$/.test(name)),
        names.join(', '),
      );
      assert.ok(names.includes('files'));
    });
  });

  test('systemctl stop in the middle of a run: the run is interrupted and Immich comes back', async () => {
    const many = path.join(bed.libraryDir, 'upload', 'many');
    for (let folder = 0; folder < 30; folder += 1) {
      await mkdir(path.join(many, String(folder)), { recursive: true });
      await Promise.all(
        Array.from({ length: 500 }, (_, index) =>
          writeFile(
            path.join(many, String(folder), `IMG_${index}.jpg`),
            `photo ${folder}/${index}`,
          ),
        ),
      );
    }
    const since = await journalLength(unit);
    await host.exec('systemctl', 'start', '--no-block', unit);
    await waitFor('the copy to start', async () =>
      /Copying new and changed files/.test(await journal(unit, since)),
    );
    const stop = await host.exec('systemctl', 'stop', unit);
    assert.equal(stop.exitCode, 0, stop.stderr);
    // The agent exits 1 for an interrupted run (CONTRACT.md): systemd shows the unit failed, with
    // the exit code; a backup stopped half-way did not finish, and that is what a person sees.
    assert.equal(await property(unit, 'ActiveState'), 'failed');
    assert.equal(await property(unit, 'Result'), 'exit-code', await journal(unit, since));
    assert.equal(await isRunning(bed.server), true, 'Immich runs again');
    const record = await lastRun();
    assert.equal(record.outcome, 'interrupted', record.message);
    assert.ok(record.server?.startedAt, 'the record shows the restart');
  });

  test('systemctl kill -s KILL with Immich stopped: ExecStopPost runs recover and Immich comes back', async () => {
    const since = await journalLength(unit);
    await host.exec('systemctl', 'start', '--no-block', unit);
    await waitFor(
      'the server to be stopped',
      async () => /is stopped\./.test(await journal(unit, since)),
      60_000,
    );
    const kill = await host.exec('systemctl', 'kill', '--signal=KILL', unit);
    assert.equal(kill.exitCode, 0, kill.stderr);
    await waitFor('the unit to end', async () =>
      ['inactive', 'failed'].includes(await property(unit, 'ActiveState')),
    );
    assert.equal(await property(unit, 'Result'), 'signal', 'the unit says it was killed');
    assert.equal(await isRunning(bed.server), true, 'Immich runs again');
    assert.match(await journal(unit, since), /died before starting it again/);
    // The killed run could not write its record; recover wrote it, so last-run tells the truth.
    const record = await lastRun();
    assert.equal(record.outcome, 'interrupted', record.message);
    assert.match(record.message, /died in its (stop|dump|sync) step/);
  });

  test('with the drive unplugged, the unit for it does not run a backup and is not marked failed', async () => {
    const device = await waitForDeviceUnit();
    await host.exec('systemctl', 'reset-failed', unit);
    await bed.drive.detach();
    await waitFor(
      `${device} to go`,
      async () => (await host.exec('systemctl', 'is-active', device)).stdout.trim() !== 'active',
    );
    const before = (await lastRun()).id;
    // BindsTo= the drive's device: systemd waits for a device that is gone instead of starting
    // the unit (until the device job times out); it never runs a backup for it.
    await host.exec('timeout', '5', 'systemctl', 'start', unit);
    await host.exec('systemctl', 'stop', unit);
    assert.notEqual(await property(unit, 'ActiveState'), 'failed', 'not marked failed');
    assert.equal((await lastRun()).id, before, 'no backup was attempted');
    await bed.drive.reattach();
  });

  test('a plug-in while another backup holds the lock: the unit exits 75 and is not marked failed', async () => {
    await waitForDeviceUnit();
    await host.exec('systemctl', 'reset-failed', unit);
    // A live process in the host holds the run lock, as a long manual backup would.
    const holder = 'iba-test-lock-holder.service';
    const started = await host.exec(
      'systemd-run',
      `--unit=${holder}`,
      '--collect',
      '/usr/local/bin/node',
      '/opt/immich-backup-agent/dist/test/env/hold-lock.js',
      '/var/lib/immich-backup-agent',
    );
    assert.equal(started.exitCode, 0, started.stderr);
    try {
      await waitFor('the lock to be held', async () =>
        /"runId":"holder"/.test(
          (await host.exec('cat', '/var/lib/immich-backup-agent/run.lock')).stdout,
        ),
      );
      // The unit's command, run by hand under the same lock, exits 75 …
      const direct = await host.agent('run', '--trigger', 'hotplug', '--force');
      assert.equal(direct.exitCode, 75, direct.stdout + direct.stderr);
      // … and under systemd that is a success (SuccessExitStatus=75): the start job succeeds
      // and the unit is not failed. (A unit that ends well is unloaded at once, so its
      // ExecMainStatus cannot be read afterwards; a failed one stays, with its status.)
      const since = await journalLength(unit);
      const run = await host.exec('systemctl', 'start', unit);
      assert.equal(run.exitCode, 0, `systemctl start succeeds: ${run.stderr}`);
      assert.notEqual(await property(unit, 'ActiveState'), 'failed', await journal(unit, since));
      assert.match(await journal(unit, since), /ALREADY_RUNNING|Another backup/);
      assert.match(await journal(unit, since), /Deactivated successfully|Finished/);
      const record = await lastRun();
      assert.equal(record.reason, 'ALREADY_RUNNING', record.message);
    } finally {
      await host.exec('systemctl', 'stop', holder);
    }
  });

  test('plug-in end to end: an add event for the drive makes udev want the unit and systemd run the backup', async () => {
    const device = await waitForDeviceUnit();
    await host.exec('systemctl', 'reset-failed', unit);
    const before = (await lastRun()).id;
    // systemd acts on SYSTEMD_WANTS when a device first becomes active, which is what a plug-in
    // is. A loop device is already there, so it is unplugged (remove) and plugged (add) again.
    await host.exec('udevadm', 'trigger', '--action=remove', bed.drive.device);
    await waitFor(
      `${device} to go`,
      async () => (await host.exec('systemctl', 'is-active', device)).stdout.trim() !== 'active',
    );
    await host.exec('udevadm', 'trigger', '--action=add', bed.drive.device);
    await waitFor(
      'the plug-in backup',
      async () => {
        const record = await lastRun();
        return record.id !== before && record.trigger === 'hotplug';
      },
      120_000,
    );
    const record = await lastRun();
    assert.equal(record.outcome, 'success', record.message);
    assert.equal(await isRunning(bed.server), true);
  });

  test('the daemon survives a failing scheduled run and stops cleanly', async () => {
    await writeHostConfig({
      schedule: { syncWindowSeconds: 0, maxAgeDays: 0.00001, cron: '* * * * * *' },
    });
    await execa('docker', ['stop', bed.database]);
    try {
      const restart = await host.exec('systemctl', 'restart', daemon);
      assert.equal(restart.exitCode, 0, restart.stderr);
      await waitFor('a failed scheduled run', async () => {
        const record = await lastRun();
        return record.trigger === 'schedule' && record.outcome === 'failed';
      });
      assert.equal((await lastRun()).reason, 'DUMP_FAILED');
      assert.equal(
        (await host.exec('systemctl', 'is-active', daemon)).stdout.trim(),
        'active',
        'the daemon is still up',
      );
    } finally {
      await execa('docker', ['start', bed.database]);
    }
    const stop = await host.exec('systemctl', 'stop', daemon);
    assert.equal(stop.exitCode, 0, stop.stderr);
    assert.equal((await host.exec('systemctl', 'is-active', daemon)).stdout.trim(), 'inactive');
    assert.equal(await property(daemon, 'Result'), 'success', 'stopped cleanly, not failed');
    assert.equal(await isRunning(bed.server), true);
  });

  test('after a reboot of the host the enabled daemon starts by itself', async () => {
    await writeHostConfig();
    // Unplugged across the reboot, so the daemon has nothing to catch up and says so.
    await bed.drive.detach();
    try {
      const before = (await host.exec('date', '+%s')).stdout.trim();
      await host.reboot();
      await waitFor(
        'the daemon to be started at boot',
        async () => (await host.exec('systemctl', 'is-active', daemon)).stdout.trim() === 'active',
      );
      // Only what was logged since the reboot (the journal may be kept across it, and a
      // container shares the kernel's boot id, so `journalctl -b` would not tell the boots apart).
      const thisBoot = async (): Promise<string> =>
        (
          await host.exec(
            'journalctl',
            '-u',
            daemon,
            '--since',
            `@${before}`,
            '--no-pager',
            '-o',
            'cat',
          )
        ).stdout;
      await waitFor('the daemon to look for the drive', async () =>
        /drive is not attached/.test(await thisBoot()),
      );
      assert.match(await thisBoot(), /Daemon started/);
    } finally {
      await bed.drive.reattach();
    }
  });
});
