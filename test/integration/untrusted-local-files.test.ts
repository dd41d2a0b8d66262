import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { agentEnv, cliPath, runAgent } from '../env/cli.js';
import { isRunning, ownerLabel, postgresImage, removeContainer } from '../env/containers.js';
import { startPrivateBus, startStandIn, type PrivateBus } from '../env/dbus-bed.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { nobody } from '../env/logind-sessions.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { sandboxInHost, startSystemdHost, type SystemdHost } from '../env/systemd-host.js';

/** A user of the machine, who owns their home and whatever they made in it. */
const user = 1000;

/** A folder of the sandbox owned by `owner`, with this mode (chmod: no umask in the way). */
async function folderOf(sandbox: Sandbox, name: string, owner: number, mode = 0o755) {
  const folder = sandbox.path(name);
  await mkdir(folder, { recursive: true });
  await chown(folder, owner, owner);
  await chmod(folder, mode);
  return folder;
}

/** Every folder and file under `folder` (itself included) with its permission bits. */
async function modes(folder: string): Promise<Map<string, number>> {
  const found = new Map<string, number>([[folder, (await stat(folder)).mode & 0o7777]]);
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    found.set(full, (await stat(full)).mode & 0o7777);
  }
  return found;
}

/**
 * What root trusts on its own disk (its config, its state folder, its log) placed where a user
 * could reach it, and what it tells people: each test performs the attack with the real agent
 * on the real test bed and shows that nothing outside was written, the agent refused or logged
 * elsewhere with the reason, and Immich runs.
 */
describe('root’s own files where a user could reach them', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('log.file in a user’s folder, a symlink to a system file: the file is untouched, the run logs to the console and says why once', async () => {
    const etc = await folderOf(sandbox, 'etc', 0);
    const system = path.join(etc, 'shadow');
    await writeFile(system, 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    const before = await stat(system);
    const home = await folderOf(sandbox, 'home/gonzalo', user);
    const logFile = path.join(home, 'immich_backup.log');
    await symlink(system, logFile);
    await bed.writeConfig({ log: { file: logFile } });
    try {
      const run = await bed.run('run');
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);
      assert.equal(await readFile(system, 'utf8'), 'root:*:19000:0:99999:7:::\n');
      const after = await stat(system);
      assert.equal(after.mtimeMs, before.mtimeMs, 'not appended to');
      assert.equal(after.mode & 0o777, 0o640, 'not chmodded');
      assert.deepEqual(await readdir(home), ['immich_backup.log'], 'nothing made in the home');
      const said = run.stderr.match(
        /not writing the log file .*; logging to the journal\/console only\./g,
      );
      assert.equal(said?.length, 1, run.stderr);
      assert.match(run.stderr, /home\/gonzalo is owned by uid 1000, not root/);
      assert.match(run.stdout, /"msg":"Backup finished/, 'the events went to the console');
      assert.equal(await isRunning(bed.server), true);
    } finally {
      await bed.writeConfig();
    }
  });

  test('log.file a symlink in a folder of root’s: refused as a symlink, the target untouched', async () => {
    const logs = await folderOf(sandbox, 'root-logs', 0);
    const target = sandbox.path('etc', 'passwd');
    await writeFile(target, 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    const logFile = path.join(logs, 'agent.log');
    await symlink(target, logFile);
    await bed.writeConfig({ log: { file: logFile } });
    try {
      const recover = await bed.run('recover');
      assert.equal(recover.exitCode, 0, recover.stdout + recover.stderr);
      assert.match(recover.stderr, /not writing the log file .*agent\.log: it is a symlink/);
      assert.equal(await readFile(target, 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    } finally {
      await bed.writeConfig();
    }
  });

  test('a stateDir a user made first, with a forged server-stopped.json: every command refuses it (exit 2), the named container stays stopped', async () => {
    // A container the forged note names: believed, recovery would start it.
    const decoy = `iba-test-${sandbox.id}-decoy`;
    sandbox.defer(`remove ${decoy}`, () => removeContainer(decoy));
    await execa('docker', [
      'create',
      '--name',
      decoy,
      '--label',
      `${ownerLabel}=${sandbox.id}`,
      '--network',
      'none',
      '--entrypoint',
      '/bin/true',
      postgresImage,
    ]);
    const state = await folderOf(sandbox, 'forged-state', user, 0o700);
    const note = {
      container: decoy,
      runId: 'forged',
      pid: 999_999,
      stoppedAt: new Date().toISOString(),
    };
    await writeFile(path.join(state, 'server-stopped.json'), JSON.stringify(note));
    await writeFile(
      path.join(state, 'drive-mounted.json'),
      JSON.stringify({
        uuid: bed.drive.uuid,
        device: '/dev/sda1',
        mountPoint: '/',
        runId: 'forged',
      }),
    );
    await chown(path.join(state, 'server-stopped.json'), user, user);
    await bed.writeConfig({ stateDir: state });
    try {
      for (const command of [['recover'], ['run'], ['status'], ['last-run']]) {
        const result = await bed.run(...command);
        assert.equal(result.exitCode, 2, `${command.join(' ')}: ${result.stdout}${result.stderr}`);
        assert.match(
          result.stderr,
          /Refusing the state folder .*forged-state is owned by uid 1000, not root/,
        );
        assert.match(result.stderr, /sudo chown root:root/);
      }
      assert.deepEqual((await readdir(state)).sort(), [
        'drive-mounted.json',
        'server-stopped.json',
      ]);
      assert.equal(await isRunning(decoy), false, 'the forged note was not acted on');
      assert.equal(await isRunning(bed.server), true);
    } finally {
      await bed.writeConfig();
    }
  });

  test('a manual run under umask 000: state folder, records, notes and log are root’s alone (0700/0600)', async () => {
    const state = sandbox.path('umask', 'state');
    const logFile = sandbox.path('umask', 'logs', 'agent.log');
    await bed.writeConfig({ stateDir: state, log: { file: logFile } });
    try {
      const run = await execa(
        'sh',
        ['-c', 'umask 000 && exec "$@"', 'sh', 'node', cliPath, '--config', bed.configFile, 'run'],
        {
          reject: false,
          env: agentEnv(),
        },
      );
      assert.equal(run.exitCode, 0, String(run.stdout) + String(run.stderr));
      const found = await modes(state);
      assert.ok(found.size >= 3, [...found.keys()].join('\n'));
      for (const [entry, mode] of found) {
        const isFolder = (await stat(entry)).isDirectory();
        assert.equal(mode, isFolder ? 0o700 : 0o600, `${entry}: ${mode.toString(8)}`);
      }
      assert.equal((await stat(logFile)).mode & 0o777, 0o600);
      assert.equal((await stat(path.dirname(logFile))).mode & 0o777, 0o700);
    } finally {
      await bed.writeConfig();
    }
  });

  test('a config that is a symlink, or in a folder a user can write: exit 2 with the reason, nothing run', async () => {
    const before = (await bed.lastRun()).id;
    const link = sandbox.path('config-link.yml');
    await symlink(bed.configFile, link);
    const linked = await runAgent(['--config', link, 'run']);
    assert.equal(linked.exitCode, 2, linked.stdout + linked.stderr);
    assert.match(linked.stderr, /Refusing .*config-link\.yml: it is a symlink/);
    const home = await folderOf(sandbox, 'home/ana', user);
    const inHome = path.join(home, 'config.yml');
    await writeFile(inHome, await readFile(bed.configFile), { mode: 0o600 });
    const homed = await runAgent(['--config', inHome, 'run']);
    assert.equal(homed.exitCode, 2, homed.stdout + homed.stderr);
    assert.match(homed.stderr, /home\/ana is owned by uid 1000, not root/);
    assert.match(homed.stderr, /folder only root can write/);
    const shared = await folderOf(sandbox, 'shared', 0, 0o777);
    const inShared = path.join(shared, 'config.yml');
    await writeFile(inShared, await readFile(bed.configFile), { mode: 0o600 });
    const open = await runAgent(['--config', inShared, 'run']);
    assert.equal(open.exitCode, 2, open.stdout + open.stderr);
    assert.match(open.stderr, /shared is writable by its group and others/);
    assert.equal((await bed.lastRun()).id, before, 'no run happened');
  });

  test('a failed plug-in run: a session not in power.users is told it failed with no path; a listed user gets the details', async () => {
    const systemBus: PrivateBus = await startPrivateBus(sandbox, 'system');
    const userBus = await startPrivateBus(sandbox, `session-${nobody}`, { user: 'nobody' });
    const notifications = await startStandIn(sandbox, 'notifications', userBus, {});
    const logind = await startStandIn(sandbox, 'logind', systemBus, {
      sessions: [
        {
          id: '4',
          uid: nobody,
          user: 'nobody',
          seat: 'seat0',
          type: 'x11',
          class: 'user',
          state: 'active',
          active: true,
        },
      ],
    });
    // ASCII: rsync writes other characters as octal escapes in the error the record keeps.
    const library = sandbox.path('gone', `Data Main1 'q' $(touch PWNED)`, 'library');
    const shownFor = async (users: string[]): Promise<string> => {
      await bed.writeConfig({
        immich: { libraryDir: library },
        power: { users },
        notify: { userBusAddress: `unix:path=${sandbox.path('session-{uid}.sock')}` },
      });
      const before = (await notifications.calls()).length;
      const run = await runAgent(
        ['--config', bed.configFile, 'run', '--trigger', 'hotplug', '--force'],
        {
          env: { DBUS_SYSTEM_BUS_ADDRESS: systemBus.address },
        },
      );
      assert.equal(run.exitCode, 1, run.stdout + run.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'failed');
      assert.ok(record.message.includes(library), `the failure names the path: ${record.message}`);
      const shown = (await notifications.calls())
        .slice(before)
        .filter((call) => call.method === 'Notify');
      const failed = shown.find((call) => call.args[3] === 'Immich backup FAILED');
      assert.ok(failed, JSON.stringify(shown));
      return String(failed.args[4]);
    };
    try {
      const generic = await shownFor(['gonzalo']);
      assert.match(
        generic,
        /^The Immich backup failed\. See `immich-backup-agent status` for why\./,
      );
      assert.ok(!generic.includes('/') && !generic.includes('Data Main1'), generic);
      const detailed = await shownFor(['nobody']);
      assert.ok(detailed.includes(library), detailed);
      const everyone = await shownFor([]);
      assert.ok(!everyone.includes('/'), `power.users: [] gets the generic line: ${everyone}`);
      assert.equal(await isRunning(bed.server), true);
    } finally {
      await logind.stop();
      await notifications.stop();
      await bed.writeConfig();
    }
  });
});

/**
 * Values written into the units (the node binary's path, folders from the configuration) with
 * `%` (a specifier), `$` (a variable in a command line), quotes and spaces: installed under a
 * real systemd, the daemon starts with exactly that node and writes its log into exactly that
 * folder (which ProtectSystem=strict leaves writable only if ReadWritePaths= names it right).
 */
describe('units generated from paths with %, $, quotes and spaces work under systemd', () => {
  let sandbox: Sandbox;
  let host: SystemdHost;

  before(async () => {
    sandbox = await createSandbox();
    host = await startSystemdHost(sandbox);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('install writes them escaped; the daemon runs that node and logs into that folder', async () => {
    const nodeFolder = '/opt/iba node 50%n $PATH';
    // The agent copied there too (its packages by a link), so its path is an argument with both.
    const agentFolder = '/opt/iba agent 10%a $HOME';
    // The host's own view of the packages: a clone under /tmp (CI's mktemp -d) would be hidden
    // from the unit by PrivateTmp= at its real path; a worktree's symlink resolves there too.
    const nodeModules = '/opt/immich-backup-agent/node_modules';
    const logFolder = `/var/log/iba 100%h $HOME 'q'`;
    const logFile = `${logFolder}/agent.log`;
    const prepared = await host.exec(
      'sh',
      '-c',
      'mkdir -p "$1" "$2" "$3" && cp /usr/local/bin/node "$1/node" && mkdir -p /srv/photos /etc/immich-backup-agent' +
        ' && cd /opt/immich-backup-agent && cp -r dist package.json systemd udev man "$3/" && ln -s "$4" "$3/node_modules"',
      '_',
      nodeFolder,
      logFolder,
      agentFolder,
      nodeModules,
    );
    assert.equal(prepared.exitCode, 0, prepared.stderr);
    const config = {
      immich: { appDir: `${sandboxInHost(sandbox)}/app`, libraryDir: '/srv/photos' },
      drive: { uuid: '5a1e0c2d-7b3f-4e9a-8c6d-0f1e2d3c4b5a', mountPoint: '/mnt/iba-escape' },
      log: { file: logFile },
      power: { idleShutdown: false },
      notify: { desktop: false },
    };
    await writeFile(sandbox.path('config.yml'), stringify(config));
    const placed = await host.exec(
      'install',
      '-m',
      '600',
      '-o',
      'root',
      '-g',
      'root',
      `${sandboxInHost(sandbox)}/config.yml`,
      '/etc/immich-backup-agent/config.yml',
    );
    assert.equal(placed.exitCode, 0, placed.stderr);
    const install = await host.exec(
      `${nodeFolder}/node`,
      `${agentFolder}/dist/src/cli/main.js`,
      'install',
    );
    assert.equal(install.exitCode, 0, install.stdout + install.stderr);
    const unit = 'immich-backup-agent.service';
    const text = (await host.exec('cat', `/etc/systemd/system/${unit}`)).stdout;
    assert.match(
      text,
      /ExecStart="\/opt\/iba node 50%%n \$PATH\/node" "\/opt\/iba agent 10%%a \$\$HOME\/dist\/src\/cli\/main\.js" daemon/,
    );
    assert.match(text, /ReadWritePaths="-\/var\/log\/iba 100%%h \$HOME 'q'"/);
    const deadline = Date.now() + 60_000;
    while (!/Daemon started/.test((await host.exec('cat', logFile)).stdout)) {
      if (Date.now() > deadline) {
        const journal = await host.exec('journalctl', '-u', unit, '--no-pager', '-o', 'cat');
        assert.fail(`no log in ${logFile}:\n${journal.stdout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal((await host.exec('systemctl', 'is-active', unit)).stdout.trim(), 'active');
    // What the process really got (systemctl show prints the line before substitution).
    const pid = (
      await host.exec('systemctl', 'show', '-p', 'MainPID', '--value', unit)
    ).stdout.trim();
    const argv = (await host.exec('cat', `/proc/${pid}/cmdline`)).stdout.split('\0');
    assert.deepEqual(argv.slice(0, 3), [
      `${nodeFolder}/node`,
      `${agentFolder}/dist/src/cli/main.js`,
      'daemon',
    ]);
    const mode = (await host.exec('stat', '-c', '%a %U', logFile)).stdout.trim();
    assert.equal(mode, '600 root');
    const stop = await host.exec('systemctl', 'stop', unit);
    assert.equal(stop.exitCode, 0, stop.stderr);
  });
});
