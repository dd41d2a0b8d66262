import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { RunRecord } from '../../src/history/record.js';
import { localDate } from '../../src/format.js';
import { bundleAgent, bundleFile } from '../../scripts/bundle.js';
import { agentEnv, logEvents, repoRoot, type CliResult } from '../env/cli.js';
import { isRunning } from '../env/containers.js';
import { startPrivateBus, startStandIn } from '../env/dbus-bed.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { gonzaloWayland } from '../env/logind-sessions.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

const packageVersion = (
  JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** Every folder from `folder` up to `/` that holds a node_modules. */
function nodeModulesAbove(folder: string): string[] {
  const found: string[] = [];
  for (let current = folder; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, 'node_modules'))) found.push(current);
    if (current === path.dirname(current)) return found;
  }
}

describe('the bundled agent, one file alone in a folder, with only Node', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  /** The folder that holds the copy and nothing else. */
  let alone: string;
  /** The copy of dist/bundle/immich-backup-agent.mjs the tests run. */
  let agent: string;

  /** The copy, as `node <copy> …`, from its own folder, with no system bus unless given. */
  async function runBundle(
    args: readonly string[],
    env: Record<string, string> = {},
  ): Promise<CliResult> {
    const result = await execa(process.execPath, [agent, ...args], {
      cwd: alone,
      reject: false,
      timeout: 180_000,
      env: agentEnv(env),
      stdin: 'ignore',
    });
    return {
      exitCode: result.exitCode ?? -1,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
    };
  }

  const withConfig = (...args: string[]): string[] => ['--config', bed.configFile, ...args];

  async function lastRun(): Promise<RunRecord> {
    const result = await runBundle(withConfig('last-run', '--json'));
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    return JSON.parse(result.stdout) as RunRecord;
  }

  before(async () => {
    sandbox = await createSandbox();
    // What `npm run bundle` makes (test/run.sh runs it; built again here from this build's dist/).
    await bundleAgent();
    alone = sandbox.path('only-node');
    await mkdir(alone);
    agent = path.join(alone, path.basename(bundleFile));
    await copyFile(bundleFile, agent);
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    await bed.writeConfig({ schedule: { syncWindowSeconds: 0 }, power: { users: ['gonzalo'] } });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('it is alone: no node_modules in its folder or any folder above it', async () => {
    assert.deepEqual(await readdir(alone), [path.basename(bundleFile)]);
    assert.deepEqual(nodeModulesAbove(alone), []);
  });

  test('--version prints package.json’s version and --help the commands, opening nothing of the repository', async () => {
    const version = await runBundle(['--version']);
    assert.equal(version.exitCode, 0, version.stderr);
    assert.equal(version.stdout.trim(), packageVersion);

    // Every file the process (and any child) asks for, as the kernel saw it.
    const traced = await execa(
      'strace',
      ['-f', '-qq', '-e', 'trace=%file', process.execPath, agent, '--help'],
      { cwd: alone, reject: false, env: agentEnv(), stdin: 'ignore' },
    );
    assert.equal(traced.exitCode, 0, traced.stderr);
    assert.match(traced.stdout, /Usage: immich-backup-agent/);
    assert.match(traced.stdout, /\brun\b[\s\S]*\bverify\b[\s\S]*\brestore\b/);
    const opened = traced.stderr.split('\n');
    assert.deepEqual(
      opened.filter((line) => line.includes('node_modules') || line.includes(repoRoot)),
      [],
      'nothing is read from a node_modules or the repository',
    );
  });

  test('config print and config validate read the Immich install it is pointed at', async () => {
    const validate = await runBundle(withConfig('config', 'validate'));
    assert.equal(validate.exitCode, 0, validate.stdout + validate.stderr);
    const print = await runBundle(withConfig('config', 'print'));
    assert.equal(print.exitCode, 0, print.stderr);
    assert.ok(print.stdout.includes(bed.drive.uuid), print.stdout);
    assert.ok(print.stdout.includes(bed.database), 'the database container, from the compose file');
    assert.equal(print.stdout.includes(bed.password), false, 'the password is masked');
  });

  test('a manual run with no system bus backs up through the engine, rsync and the log file', async () => {
    const result = await runBundle(withConfig('run'));
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await lastRun();
    assert.equal(record.outcome, 'success', JSON.stringify(record));
    assert.equal(record.agentVersion, packageVersion);
    assert.ok(record.server?.stoppedAt && record.server.startedAt, 'the server was stopped');
    assert.equal(await isRunning(bed.server), true, 'and runs again');
    // Not a TTY: JSON lines on the console, the same events in the file, all with the run's id.
    assert.ok(logEvents(result.stdout).length > 5, result.stdout);
    const fileEvents = (await readFile(bed.logFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { runId?: string });
    assert.ok(fileEvents.length > 5);
    assert.ok(fileEvents.every((event) => event.runId === record.id));

    await withDriveMounted(sandbox, bed.drive, async (driveRoot) => {
      const backup = path.join(driveRoot, 'immich-backup');
      assert.ok(existsSync(path.join(backup, `immich-db-${localDate(new Date())}.sql.gz`)));
      assert.deepEqual(
        await snapshotTree(path.join(backup, 'files')),
        await snapshotTree(bed.libraryDir),
      );
    });

    const verify = await runBundle(withConfig('verify'));
    assert.equal(verify.exitCode, 0, verify.stdout + verify.stderr);
    const status = await runBundle(withConfig('status', '--json'));
    assert.equal(status.exitCode, 0, status.stdout + status.stderr);
    assert.ok(status.stdout.includes(record.id), status.stdout);
    const log = await runBundle(withConfig('log', '-n', '5'));
    assert.equal(log.exitCode, 0, log.stderr);
    assert.equal(log.stdout.trim().split('\n').length, 5, log.stdout);
  });

  test('a scheduled run asks logind over D-Bus and stays on for the listed user’s session', async () => {
    const systemBus = await startPrivateBus(sandbox, 'system');
    const logind = await startStandIn(sandbox, 'logind', systemBus, {
      sessions: [gonzaloWayland],
    });
    try {
      const result = await runBundle(withConfig('run', '--trigger', 'schedule', '--force'), {
        DBUS_SYSTEM_BUS_ADDRESS: systemBus.address,
      });
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const record = await lastRun();
      assert.equal(record.outcome, 'success', JSON.stringify(record));
      assert.equal(record.power.decision, 'stay-on', record.power.reason);
      assert.match(record.power.reason, /gonzalo/);
      assert.ok(
        (await logind.calls()).some((call) => call.method === 'ListSessions'),
        'logind was asked',
      );
    } finally {
      await logind.stop();
    }
  });

  test('on a terminal the log is pretty (pino-pretty is inside the bundle)', async () => {
    // script(1) gives the agent a pseudo-terminal. Its command is a shell line: the config comes
    // through the environment instead, so only these plain paths are in it.
    for (const word of [process.execPath, agent]) assert.match(word, /^[\w./-]+$/);
    const result = await execa(
      'script',
      ['--quiet', '--return', '--command', `${process.execPath} ${agent} recover`, '/dev/null'],
      {
        cwd: alone,
        reject: false,
        env: agentEnv({ IMMICH_BACKUP_AGENT_CONFIG: bed.configFile }),
        stdin: 'ignore',
      },
    );
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    // pino-pretty's line: time, the level in colour, then the step and the message.
    assert.match(
      result.stdout,
      // eslint-disable-next-line no-control-regex
      /^\[\d\d:\d\d:\d\d\] \u001b\[32mINFO\u001b\[39m: .*\[recover\] Nothing to recover/m,
      result.stdout,
    );
    assert.doesNotMatch(result.stdout, /\{"level"/, 'no JSON lines on a terminal');
  });

  test('install writes the shipped rule, units and man page from inside the bundle', async () => {
    const root = sandbox.path('install-root');
    const result = await runBundle([
      'install',
      '--root',
      root,
      '--app-dir',
      bed.appDir,
      '--uuid',
      bed.drive.uuid,
    ]);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const rule = await readFile(
      path.join(root, 'etc/udev/rules.d/90-immich-backup-agent.rules'),
      'utf8',
    );
    assert.ok(rule.includes(bed.drive.uuid), rule);
    const unit = await readFile(
      path.join(root, 'etc/systemd/system/immich-backup-agent-hotplug@.service'),
      'utf8',
    );
    assert.match(unit, new RegExp(`^ExecStart=.*${agent.replaceAll('.', '\\.')}`, 'm'));
    assert.equal(
      await readFile(path.join(root, 'usr/local/share/man/man8/immich-backup-agent.8'), 'utf8'),
      await readFile(path.join(repoRoot, 'man/immich-backup-agent.8'), 'utf8'),
    );
  });
});
