import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { createProcessGateway } from '../../src/adapters/process.js';
import { runSystemCommand, systemCommands } from '../../src/install/system-reload.js';
import { createLogger } from '../../src/log/logger.js';
import { repoRoot, runAgent } from '../env/cli.js';
import { createLoopDrive } from '../env/drive.js';
import { fixturesDir } from '../env/immich-bed.js';
import { awkwardName, createSandbox, type Sandbox } from '../env/sandbox.js';
import { giveUdevRule } from '../env/udev-rule.js';

/** Every path under `dir` (files and folders), with each file's content. */
async function tree(dir: string): Promise<Map<string, string | null>> {
  const result = new Map<string, string | null>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const relative = path.relative(dir, full);
      if (entry.isDirectory()) {
        result.set(`${relative}/`, null);
        await walk(full);
      } else {
        result.set(relative, await readFile(full, 'utf8'));
      }
    }
  };
  await walk(dir);
  return result;
}

describe('install and uninstall, under a root of the test’s own', () => {
  let sandbox: Sandbox;
  let root: string;
  let appDir: string;
  const uuids = [randomUUID(), randomUUID()];

  before(async () => {
    sandbox = await createSandbox();
    root = sandbox.path(awkwardName, 'root');
    appDir = sandbox.path(awkwardName, 'immich-app');
    // A root that already has things of its own, which must be left exactly as they are.
    await mkdir(path.join(root, 'etc/udev/rules.d'), { recursive: true });
    await writeFile(path.join(root, 'etc/udev/rules.d/70-someone-else.rules'), '# not ours\n');
    await writeFile(path.join(root, 'etc/hostname'), 'immich-box\n');
    await mkdir(appDir, { recursive: true });
    await copyFile(
      path.join(fixturesDir, 'immich-docker-compose.yml'),
      path.join(appDir, 'docker-compose.yml'),
    );
    await copyFile(path.join(fixturesDir, 'immich-example.env'), path.join(appDir, '.env'));
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('install pointed at a folder without Immich refuses (exit 2) and writes nothing', async () => {
    const before = await tree(root);
    const empty = sandbox.path(awkwardName, 'not-immich');
    await mkdir(empty, { recursive: true });
    const result = await runAgent([
      'install',
      '--root',
      root,
      '--app-dir',
      empty,
      '--uuid',
      randomUUID(),
    ]);
    assert.equal(result.exitCode, 2, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /Did not install/);
    assert.match(result.stdout + result.stderr, /--app-dir/);
    assert.deepEqual(await tree(root), before, 'the root is as it was');
  });

  test('install writes the rule, the units and a discovered config; a second install changes nothing; uninstall leaves the root as it was but for config and state', async () => {
    const before = await tree(root);
    const args = [
      'install',
      '--root',
      root,
      '--app-dir',
      appDir,
      '--mount-point',
      '/srv/backups/usb',
      ...uuids.flatMap((uuid) => ['--uuid', uuid]),
    ];
    const first = await runAgent(args);
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /Wrote a starting configuration/);
    assert.match(first.stdout, /found containers: immich_server and immich_postgres/);
    assert.match(first.stdout, /found library: .*immich-app\/library/);
    assert.match(first.stdout, /check power\.users/);

    const configFile = path.join(root, 'etc/immich-backup-agent/config.yml');
    assert.equal((await stat(configFile)).mode & 0o777, 0o600);
    const validate = await runAgent(['--config', configFile, 'config', 'validate']);
    assert.equal(validate.exitCode, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /is valid: 2 drives/);
    const printed = await runAgent(['--config', configFile, 'config', 'print']);
    assert.match(printed.stdout, /databasePassword: "\*\*\*"/);
    assert.doesNotMatch(printed.stdout, /DB_PASSWORD|: postgres\n.*password/);

    const rule = await readFile(
      path.join(root, 'etc/udev/rules.d/90-immich-backup-agent.rules'),
      'utf8',
    );
    for (const uuid of uuids) assert.match(rule, new RegExp(`ENV\\{ID_FS_UUID\\}=="${uuid}"`));
    assert.doesNotMatch(
      rule,
      /ff12a215-2c2f-4649-a390-0d8a23e6ef0e"/,
      'the seed UUID is replaced, not kept',
    );
    const hotplug = await readFile(
      path.join(root, 'etc/systemd/system/immich-backup-agent-hotplug@.service'),
      'utf8',
    );
    assert.match(
      hotplug,
      new RegExp(
        `^ExecStart=${process.execPath.replace(/\//g, '\\/')} .*dist/src/cli/main\\.js run --trigger hotplug --device %f$`,
        'm',
      ),
    );
    assert.match(
      hotplug,
      /^ReadWritePaths=-\/srv\/backups$/m,
      'the configured mount point’s folder is writable',
    );

    // The man page, where man(1) looks for the local administrator's pages.
    const manPages = path.join(root, 'usr/local/share/man');
    const manPage = path.join(manPages, 'man8/immich-backup-agent.8');
    assert.match(first.stdout, /^Wrote .*\/usr\/local\/share\/man\/man8\/immich-backup-agent\.8$/m);
    assert.equal(
      await readFile(manPage, 'utf8'),
      await readFile(path.join(repoRoot, 'man/immich-backup-agent.8'), 'utf8'),
      'the packaged page, as npm run docs wrote it',
    );
    assert.equal((await stat(manPage)).mode & 0o777, 0o644);
    const found = await execa('man', ['--manpath', manPages, '--where', 'immich-backup-agent'], {
      reject: false,
    });
    assert.equal(found.stdout.trim(), manPage, `man finds the page: ${found.stderr}`);
    const shown = await execa('man', ['--manpath', manPages, 'immich-backup-agent'], {
      env: { MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' },
    });
    // Piped, man leaves out the terminal's bold and underline.
    assert.match(shown.stdout, /^IMMICH-BACKUP-AGENT\(8\)/);

    const afterFirst = await tree(root);
    const second = await runAgent(args);
    assert.equal(second.exitCode, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /Kept the configuration/);
    assert.doesNotMatch(second.stdout, /^Wrote /m);
    assert.deepEqual(await tree(root), afterFirst, 'a second install changes nothing');

    const removed = await runAgent(['uninstall', '--root', root]);
    assert.equal(removed.exitCode, 0, removed.stdout + removed.stderr);
    assert.match(removed.stdout, /^Removed .*\/man8\/immich-backup-agent\.8$/m);
    assert.equal(existsSync(manPage), false, 'the man page is gone');
    const afterUninstall = await tree(root);
    const kept = [...afterUninstall.keys()].filter((key) => !before.has(key));
    assert.deepEqual(
      kept.sort(),
      [
        'etc/immich-backup-agent/',
        'etc/immich-backup-agent/config.yml',
        'var/',
        'var/lib/',
        'var/lib/immich-backup-agent/',
      ].sort(),
      'only config and state remain',
    );
    for (const [key, value] of before)
      assert.equal(afterUninstall.get(key), value, `${key} is as it was`);
  });

  test('the installed units pass systemd-analyze verify and security, and the installed rule wants the unit for each drive', async () => {
    const install = await runAgent([
      'install',
      '--root',
      root,
      '--app-dir',
      appDir,
      ...uuids.flatMap((uuid) => ['--uuid', uuid]),
    ]);
    assert.equal(install.exitCode, 0, install.stdout + install.stderr);
    const units = sandbox.path('units');
    await mkdir(units);
    for (const name of await readdir(path.join(root, 'etc/systemd/system'))) {
      await copyFile(
        path.join(root, 'etc/systemd/system', name),
        path.join(units, name.replace('@.service', '@sys-devices-virtual-block-loop0.service')),
      );
    }
    const names = await readdir(units);
    const verify = await execa('systemd-analyze', ['verify', ...names], {
      cwd: units,
      reject: false,
      all: true,
    });
    assert.equal(verify.exitCode, 0, String(verify.all));
    for (const unit of names) {
      const security = await execa(
        'systemd-analyze',
        ['security', '--offline=true', '--no-pager', unit],
        { cwd: units, reject: false, all: true },
      );
      const exposure = Number(
        /Overall exposure level for .*: (\d+(?:\.\d+)?)/.exec(String(security.all))?.[1],
      );
      assert.ok(exposure <= 5.5, `${unit}: ${exposure}`);
    }

    const drive = await createLoopDrive(sandbox, { uuid: uuids[1], sizeMb: 16 });
    const installedRule = path.join(root, 'etc/udev/rules.d/90-immich-backup-agent.rules');
    const simulateAdd = async (): Promise<string> => {
      await giveUdevRule(sandbox, await readFile(installedRule, 'utf8'));
      const simulated = await execa(
        'udevadm',
        ['test', '--action=add', `/sys/class/block/${path.basename(drive.device)}`],
        { all: true },
      );
      return String(simulated.all);
    };
    // By default a loop device (anyone's image file, with the drive's UUID in it) starts nothing.
    assert.doesNotMatch(await simulateAdd(), /^SYSTEMD_WANTS=/m);
    // A configuration that allows them (a test bed's: its drives are loop devices), installed again.
    const configFile = path.join(root, 'etc/immich-backup-agent/config.yml');
    const config = parse(await readFile(configFile, 'utf8')) as { drive?: Record<string, unknown> };
    await writeFile(
      configFile,
      stringify({ ...config, drive: { ...config.drive, allowLoopDevices: true } }),
      { mode: 0o600 },
    );
    const again = await runAgent(['install', '--root', root, '--app-dir', appDir]);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.match(await simulateAdd(), /^SYSTEMD_WANTS=immich-backup-agent-hotplug@\.service$/m);
  });

  test('udevadm and systemctl run through the process gateway, each with a time limit, and a failure is told, not thrown', async () => {
    for (const command of Object.values(systemCommands)) {
      assert.ok(command.timeoutMs > 0 && command.timeoutMs <= 300_000, command.args.join(' '));
      assert.match(command.file, /^(udevadm|systemctl)$/);
    }
    const { logger } = createLogger({
      file: null,
      level: 'warn',
      pretty: false,
      secrets: [],
      console: process.stderr,
    });
    const gateway = createProcessGateway({ logger, secrets: [] });
    assert.equal(
      await runSystemCommand(gateway, { file: 'true', args: ['daemon-reload'], timeoutMs: 5000 }),
      'ran: true daemon-reload',
    );
    const started = Date.now();
    assert.match(
      await runSystemCommand(gateway, { file: 'sleep', args: ['30'], timeoutMs: 1000 }),
      /^could not run sleep 30: sleep did not finish within 1 s\.$/,
    );
    assert.ok(Date.now() - started < 10_000, 'a hung command is not waited for');
    assert.match(
      await runSystemCommand(gateway, { file: 'false', args: [], timeoutMs: 5000 }),
      /^could not run false: exit 1$/,
    );
    assert.match(
      await runSystemCommand(gateway, {
        file: 'no-such-systemctl',
        args: ['daemon-reload'],
        timeoutMs: 5000,
      }),
      /^could not run no-such-systemctl daemon-reload: no-such-systemctl is not installed/,
    );
  });
});
