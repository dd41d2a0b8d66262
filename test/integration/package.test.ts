import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { buildPackage } from '../../scripts/package.js';
import type { RunRecord } from '../../src/history/record.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createLoopDrive } from '../env/drive.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { sandboxInHost, startSystemdHost, type SystemdHost } from '../env/systemd-host.js';

/**
 * The Debian package as a user meets it, under a real systemd (252, PID 1 in a container): built
 * by `npm run package`'s own function, installed with `dpkg -i` (its Docker dependency then met
 * by apt from Debian's archive, as `apt install ./….deb` would), set up by `install`, a plug-in
 * backup through the package's rule and units, then `dpkg -r` and `dpkg -P`.
 */
describe('the Debian package under a real systemd', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let host: SystemdHost;
  let deb = '';
  const config = '/etc/immich-backup-agent/config.yml';
  const inHost = (file: string): string => file.replace(sandbox.dir, sandboxInHost(sandbox));
  const run = async (...command: string[]): Promise<string> => {
    const result = await host.exec(...command);
    assert.equal(result.exitCode, 0, `${command.join(' ')}: ${result.stdout}${result.stderr}`);
    return result.stdout;
  };
  const agent = (...args: string[]): ReturnType<SystemdHost['exec']> =>
    host.exec('/usr/bin/immich-backup-agent', ...args);
  const daemonIs = async (verb: 'is-enabled' | 'is-active'): Promise<string> =>
    (await host.exec('systemctl', verb, 'immich-backup-agent.service')).stdout.trim();
  const lastRun = async (): Promise<RunRecord | null> => {
    const result = await agent('last-run', '--json');
    return result.exitCode === 0 ? (JSON.parse(result.stdout) as RunRecord) : null;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  /** What of the agent is left on the host: files, units systemd knows, processes. */
  const leftovers = async (): Promise<string> =>
    run(
      'sh',
      '-c',
      'ls -d /usr/lib/udev/rules.d/*immich* /etc/udev/rules.d/*immich* /usr/lib/systemd/system/immich* /etc/systemd/system/immich* /etc/systemd/system/*/immich* 2>/dev/null; systemctl list-units --all --no-legend "immich-backup-agent*"; systemctl list-unit-files --no-legend "immich-backup-agent*"; for exe in /proc/[0-9]*/exe; do readlink "$exe"; done | grep immich-backup-agent; true',
    );
  /** The drive's backup folder, file by file with sizes and times: what must never change. */
  const driveListing = async (): Promise<string[]> =>
    withDriveMounted(sandbox, bed.drive, async (root) =>
      (
        await execa('find', [
          path.join(root, 'immich-backup'),
          '-printf',
          'immich-backup/%P %s %T@\n',
        ])
      ).stdout
        .split('\n')
        .sort(),
    );
  const stateListing = (): Promise<string> =>
    run(
      'sh',
      '-c',
      'cd /var/lib/immich-backup-agent && find . -path ./install-manifest.json -prune -o -printf "%p %s\\n" | sort',
    );

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5, assets: 200, driveSizeMb: 256 });
    deb = (await buildPackage(sandbox.path('package'))).file;
    host = await startSystemdHost(sandbox);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('dpkg -i installs it, apt meets its dependencies, and nothing starts', async () => {
    // Services of the packages apt brings (docker.io, containerd) are not started in the test
    // host: the agent there uses the test bed's engine, whose socket is mounted in.
    await run(
      'sh',
      '-c',
      'printf "#!/bin/sh\\nexit 101\\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d',
    );
    const dpkg = await host.exec('dpkg', '-i', inHost(deb));
    // The test host has rsync but no Docker package: dpkg leaves it unconfigured, naming it.
    if (dpkg.exitCode !== 0)
      assert.match(dpkg.stderr, /depends on docker\.io \| docker-ce \| docker-engine/);
    await run('apt-get', 'update', '-qq');
    await run(
      'sh',
      '-c',
      'DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends',
    );
    assert.equal(
      await run('dpkg-query', '-W', '-f=${Status}', 'immich-backup-agent'),
      'install ok installed',
    );
    assert.match(await run('immich-backup-agent', '--version'), /^\d+\.\d+\.\d+/);
    assert.equal(await daemonIs('is-enabled'), 'disabled');
    assert.equal(await daemonIs('is-active'), 'inactive');
    assert.equal(await lastRun(), null, 'no run, not even a skipped one');
    // Loaded from the package's folders, running the package's executable.
    assert.match(
      await run('systemctl', 'cat', 'immich-backup-agent.service'),
      /^# (\/usr)?\/lib\/systemd\/system\/immich-backup-agent\.service$[\s\S]*^ExecStart=\/usr\/bin\/immich-backup-agent daemon$/m,
    );
    assert.match(
      await run(
        'bash',
        '-c',
        'source /usr/share/bash-completion/completions/immich-backup-agent && complete -p immich-backup-agent',
      ),
      /-F _immich_backup_agent immich-backup-agent/,
    );
  });

  test('install writes only the configuration and the drives the rule reads, and enables the daemon', async () => {
    // Installed while the drive is unplugged, so the daemon has nothing to catch up at start.
    await bed.drive.detach();
    try {
      await installWithDriveUnplugged();
    } finally {
      await bed.drive.reattach();
    }
  });

  async function installWithDriveUnplugged(): Promise<void> {
    const args = [
      'install',
      '--app-dir',
      inHost(bed.appDir),
      '--uuid',
      bed.drive.uuid,
      '--mount-point',
      `/mnt/iba-backup-${sandbox.id}`,
    ];
    const first = await agent(...args);
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /no copy written to \/etc/);
    // The test bed's drive is a loop device, which the rule leaves alone unless allowed; every
    // plug-in is due, nothing waits for uploads, the test host is never powered off.
    const written = parse(await run('cat', config)) as Record<string, Record<string, unknown>>;
    Object.assign(written.drive ?? {}, { allowLoopDevices: true });
    Object.assign(written, {
      schedule: { syncWindowSeconds: 0, maxAgeDays: 0.00001 },
      power: { idleShutdown: false },
      notify: { desktop: false },
    });
    await writeFile(sandbox.path('config.yml'), stringify(written));
    await run('install', '-m', '600', inHost(sandbox.path('config.yml')), config);
    const again = await agent(...args);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.match(
      again.stdout,
      /Wrote \/etc\/immich-backup-agent\/hotplug-drives\/allow-loop-devices/,
    );
    assert.match(again.stdout, /ran: systemctl enable --now immich-backup-agent\.service/);
    assert.deepEqual(
      (await run('ls', '/etc/immich-backup-agent/hotplug-drives')).split('\n').sort(),
      [bed.drive.uuid, 'allow-loop-devices'].sort(),
    );
    assert.equal(
      await run('sh', '-c', 'ls /etc/udev/rules.d /etc/systemd/system | grep immich; true'),
      '',
      'no copy of the rule or the units in /etc',
    );
    assert.equal(await daemonIs('is-active'), 'active');
    await waitFor('the daemon to find no drive', async () =>
      /drive is not attached/.test(
        await run('journalctl', '-u', 'immich-backup-agent.service', '-o', 'cat', '--no-pager'),
      ),
    );
  }

  test("the package's rule wants the unit for the configured drive only", async () => {
    const other = await createLoopDrive(sandbox, { sizeMb: 32 });
    const wants = async (device: string): Promise<boolean> =>
      /SYSTEMD_WANTS=.*immich-backup-agent-hotplug@\.service/.test(
        await run('udevadm', 'test', '--action=add', `/sys/class/block/${path.basename(device)}`),
      );
    assert.equal(await wants(bed.drive.device), true);
    assert.equal(await wants(other.device), false, 'a drive with another UUID');
  });

  test('plugging the drive in makes a backup through the package', async () => {
    const sysfs = (
      await execa('realpath', [`/sys/class/block/${path.basename(bed.drive.device)}`])
    ).stdout.trim();
    const device = (await run('systemd-escape', '--path', '--suffix=device', sysfs)).trim();
    const active = async (): Promise<boolean> =>
      (await host.exec('systemctl', 'is-active', device)).stdout.trim() === 'active';
    // systemd acts on SYSTEMD_WANTS when a device first becomes active: unplug (remove), plug (add).
    await host.exec('udevadm', 'trigger', '--action=change', bed.drive.device);
    await waitFor(`${device} to be active`, active);
    await host.exec('udevadm', 'trigger', '--action=remove', bed.drive.device);
    await waitFor(`${device} to go`, async () => !(await active()));
    await host.exec('udevadm', 'trigger', '--action=add', bed.drive.device);
    await waitFor('the plug-in backup', async () => (await lastRun())?.trigger === 'hotplug');
    const record = (await lastRun()) as RunRecord;
    assert.equal(record.outcome, 'success', record.message);
    assert.equal(await isRunning(bed.server), true);
    const names = await driveListing();
    assert.ok(
      names.some((name) => /^immich-backup\/immich-db-\d{4}-\d\d-\d\d\.sql\.gz /.test(name)),
      names.join('\n'),
    );
    assert.ok(names.some((name) => name.startsWith('immich-backup/files ')));
  });

  test('dpkg -r and dpkg -P leave no rule, unit or process; the backups and the state stay', async () => {
    const drive = await driveListing();
    const state = await stateListing();
    const removed = await host.exec('dpkg', '-r', 'immich-backup-agent');
    assert.equal(removed.exitCode, 0, removed.stdout + removed.stderr);
    assert.equal(await leftovers(), '', 'after dpkg -r');
    assert.equal(
      (await host.exec('test', '-f', config)).exitCode,
      0,
      'remove keeps the configuration',
    );
    const purged = await host.exec('dpkg', '-P', 'immich-backup-agent');
    assert.equal(purged.exitCode, 0, purged.stdout + purged.stderr);
    assert.match(purged.stdout, /kept \/var\/lib\/immich-backup-agent/);
    assert.equal(await leftovers(), '', 'after dpkg -P');
    assert.equal(
      await run(
        'sh',
        '-c',
        'ls -d /etc/immich-backup-agent /var/log/immich-backup-agent 2>/dev/null; true',
      ),
      '',
      'purge removes the configuration and the log',
    );
    assert.equal(await stateListing(), state, 'the state folder is as it was');
    assert.deepEqual(await driveListing(), drive, "the drive's backups are as they were");
    assert.equal(await isRunning(bed.server), true);
  });
});
