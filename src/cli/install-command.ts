import { execa } from 'execa';
import { currentCommand, install, uninstall } from '../install/install.js';
import { exitCodes } from './exit-codes.js';

/** Runs a command that makes udev or systemd take the new files, and says how it went. */
async function tell(command: string, args: string[]): Promise<void> {
  const result = await execa(command, args, { reject: false, stdin: 'ignore' });
  const shown = [command, ...args].join(' ');
  process.stdout.write(
    result.exitCode === 0
      ? `  ran: ${shown}\n`
      : `  could not run ${shown}: ${String(result.stderr).trim() || `exit ${result.exitCode}`}\n`,
  );
}

/** `install [--root DIR] [--app-dir DIR] [--uuid UUID]… [--mount-point DIR]`. */
export async function installCommand(options: {
  root: string;
  appDir?: string;
  uuid: string[];
  mountPoint?: string;
}): Promise<number> {
  const report = await install({
    root: options.root,
    appDir: options.appDir,
    uuids: options.uuid,
    mountPoint: options.mountPoint,
    ...(await currentCommand()),
  });
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  if (report.config.written) {
    out(`Wrote a starting configuration: ${report.config.file}`);
    for (const line of report.config.found) out(`  found ${line}`);
    for (const line of report.config.check) out(`  check ${line}`);
  } else {
    out(`Kept the configuration ${report.config.file}.`);
    for (const line of report.config.check) out(`  note: ${line}`);
  }
  for (const file of report.written) out(`Wrote ${file}`);
  for (const file of report.unchanged) out(`Unchanged ${file}`);
  if (options.root === '/') {
    await tell('udevadm', ['control', '--reload']);
    await tell('systemctl', ['daemon-reload']);
    await tell('systemctl', ['enable', '--now', 'immich-backup-agent.service']);
    out(
      'Plug in the backup drive: the backup starts by itself when one is due. See: immich-backup-agent status',
    );
  }
  return exitCodes.ok;
}

/** `uninstall [--root DIR]`: removes the rule and units; keeps config, state and backups. */
export async function uninstallCommand(options: { root: string }): Promise<number> {
  if (options.root === '/')
    await tell('systemctl', ['disable', '--now', 'immich-backup-agent.service']);
  const removed = await uninstall(options.root);
  for (const file of removed) process.stdout.write(`Removed ${file}\n`);
  if (removed.length === 0)
    process.stdout.write('Nothing to remove: install has not written anything here.\n');
  if (options.root === '/') {
    await tell('systemctl', ['daemon-reload']);
    await tell('udevadm', ['control', '--reload']);
  }
  process.stdout.write('Kept the configuration, the state folder and every backup.\n');
  return exitCodes.ok;
}
