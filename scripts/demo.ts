/**
 * The demo world: a throwaway Immich (database with rows, a server stand-in, a library), a loop
 * drive with a random UUID, the agent installed under a root of its own, the installed udev rule
 * given to the real udevd, and a synthesised `add` event for the drive. udev says which unit it
 * wants; systemd would start it, so the demo starts that unit's ExecStart the way systemd does
 * (with %f, the device's sysfs path), then shows `last-run` and `status`, and cleans up.
 */
import { readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliPath, runAgent } from '../test/env/cli.js';
import { createImmichBed } from '../test/env/immich-bed.js';
import { createSandbox } from '../test/env/sandbox.js';
import { giveUdevRule } from '../test/env/udev-rule.js';

const say = (text: string): void => console.log(`\n\u001b[1m▶ ${text}\u001b[0m`);
/** What did not go as it should: the demo then exits 1, so nobody mistakes it for a success. */
const problems: string[] = [];
const sandbox = await createSandbox();
try {
  say(
    'Building a throwaway Immich: PostgreSQL with rows, a server container, a library with awkward names, a USB drive (loop device) with a random UUID',
  );
  const bed = await createImmichBed(sandbox, { photos: 30, assets: 500 });
  console.log(
    `  drive ${bed.drive.device}, filesystem UUID ${bed.drive.uuid}\n  Immich in ${bed.appDir}`,
  );

  say(
    'Installing the agent under a root of its own (udev rule, systemd units, a config discovered from Immich’s files)',
  );
  const root = sandbox.path('root');
  const install = await runAgent([
    'install',
    '--root',
    root,
    '--app-dir',
    bed.appDir,
    '--uuid',
    bed.drive.uuid,
    '--mount-point',
    bed.mountPoint,
  ]);
  console.log(install.stdout.trimEnd().replace(/^/gm, '  '));
  // The demo's drive is a loop device, which the rule ignores unless the configuration allows
  // them (anyone may attach an image with the drive's UUID): allowed, and installed again.
  const installedConfig = path.join(root, 'etc/immich-backup-agent/config.yml');
  await writeFile(
    installedConfig,
    (await readFile(installedConfig, 'utf8')).replace(
      /^drive:\n/m,
      'drive:\n  allowLoopDevices: true # the demo drive is a loop device\n',
    ),
    { mode: 0o600 },
  );
  const reinstall = await runAgent(['install', '--root', root]);
  if (reinstall.exitCode !== 0) throw new Error(`install again: ${reinstall.stderr}`);
  // The demo's config: the one install wrote, pointed at the demo's own log and state folders.
  await bed.writeConfig();

  say(
    'Giving the installed udev rule to the real udevd and plugging the drive in (a synthesised add event)',
  );
  await giveUdevRule(
    sandbox,
    await readFile(path.join(root, 'etc/udev/rules.d/90-immich-backup-agent.rules'), 'utf8'),
  );
  await execa('udevadm', ['trigger', '--action=add', bed.drive.device]);
  await execa('udevadm', ['settle', '--timeout=30']);
  const properties = (
    await execa('udevadm', ['info', '--query=property', `--name=${bed.drive.device}`])
  ).stdout;
  const wants = /^SYSTEMD_WANTS=(.*)$/m.exec(properties)?.[1];
  if (!wants) throw new Error('udev did not ask for the backup unit: the rule did not match');
  console.log(`  udev tagged the drive for systemd and wants: ${wants}`);

  const unit = await readFile(path.join(root, 'etc/systemd/system', wants.trim()), 'utf8');
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  const sysfs = await realpath(`/sys/class/block/${path.basename(bed.drive.device)}`);
  const pid1 = (await readFile('/proc/1/comm', 'utf8')).trim();
  say(
    `${pid1 === 'systemd' ? 'systemd starts' : `systemd is not PID 1 here (${pid1}), so the demo starts`} the unit's ExecStart, with %f = ${sysfs}`,
  );
  const words = execStart.replace('%f', sysfs).split(' ');
  const run = await execa(words[0] as string, words.slice(1), {
    reject: false,
    env: { IMMICH_BACKUP_AGENT_CONFIG: bed.configFile },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  console.log(
    `  exit code ${run.exitCode} (0 = backed up, or not due; 75 = drive gone or another run busy)`,
  );
  if (run.exitCode !== 0) problems.push(`the plug-in run exited ${run.exitCode}`);

  say(
    `The same job by hand, as you would run it: sudo immich-backup-agent --config ${bed.configFile} run (a manual run always runs)`,
  );
  const manual = await execa(cliPath, ['--config', bed.configFile, 'run'], {
    reject: false,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  console.log(`  exit code ${manual.exitCode} (0 = backed up)`);
  if (manual.exitCode !== 0) problems.push(`the manual run exited ${manual.exitCode}`);

  say('immich-backup-agent last-run');
  console.log((await runAgent(['--config', bed.configFile, 'last-run'])).stdout.trimEnd());
  say('immich-backup-agent status');
  console.log((await runAgent(['--config', bed.configFile, 'status'])).stdout.trimEnd());
  say('immich-backup-agent verify --drill');
  const verify = await runAgent(['--config', bed.configFile, 'verify', '--drill']);
  console.log(verify.stdout.trimEnd());
  if (verify.exitCode !== 0) problems.push(`verify --drill exited ${verify.exitCode}`);
  console.log(
    `\nThe CLI is ${cliPath}; on a real machine: sudo npm install --global . && sudo immich-backup-agent install --app-dir <your immich-app> --uuid <your drive's UUID>`,
  );
} finally {
  say('Cleaning up: containers, loop drive, rule and files of the demo');
  await sandbox.dispose();
}
if (problems.length > 0) {
  console.log(`\nThe demo did not go as it should: ${problems.join('; ')}.`);
  process.exitCode = 1;
} else {
  console.log('\nDemo done: backed up by plug-in and by hand, verified, and everything removed.');
}
