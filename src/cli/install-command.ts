import { createProcessGateway, type ProcessGateway } from '../adapters/process.js';
import { exitCodes } from '../exit-codes.js';
import { currentCommand, install, uninstall } from '../install/install.js';
import { isPackaged } from '../install/packaged.js';
import { adoptOnInstall } from './drive-trust-command.js';
import { runSystemCommand, systemCommands, type SystemCommand } from '../install/system-reload.js';
import { createLogger } from '../log/logger.js';

/**
 * The gateway for udevadm and systemctl. There may be no configuration yet (install writes the
 * first one), so no log file: only warnings, on stderr, where they do not mix with the report.
 */
function installGateway(): ProcessGateway {
  const { logger } = createLogger({
    file: null,
    level: 'warn',
    pretty: false,
    secrets: [],
    console: process.stderr,
  });
  return createProcessGateway({ logger, secrets: [] });
}

/** Runs a command that makes udev or systemd take the new files, and says how it went. */
async function tell(gateway: ProcessGateway, command: SystemCommand): Promise<void> {
  process.stdout.write(`  ${await runSystemCommand(gateway, command)}\n`);
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
  if (report.packaged)
    out(
      "The package's udev rule and systemd units are installed (/usr/lib): no copy written to /etc.",
    );
  for (const file of report.written) out(`Wrote ${file}`);
  for (const file of report.unchanged) out(`Unchanged ${file}`);
  for (const file of report.removed) out(`Removed ${file} (no longer wanted)`);
  if (options.root === '/') {
    const gateway = installGateway();
    await tell(gateway, systemCommands.reloadUdev);
    await tell(gateway, systemCommands.reloadSystemd);
    await tell(gateway, systemCommands.enableDaemon);
    // The drive attached now becomes the trusted one (under a test root, the config's state
    // folder is not the root's: nothing is adopted there).
    await adoptOnInstall(report.config.file);
    out(
      'Plug in the backup drive: the backup starts by itself when one is due. See: immich-backup-agent status',
    );
    out('Every command and key: man immich-backup-agent');
  }
  return exitCodes.ok;
}

/** `uninstall [--root DIR]`: removes the rule, units and man page; keeps config, state and backups. */
export async function uninstallCommand(options: { root: string }): Promise<number> {
  const gateway = options.root === '/' ? installGateway() : null;
  if (gateway) await tell(gateway, systemCommands.disableDaemon);
  const removed = await uninstall(options.root);
  for (const file of removed) process.stdout.write(`Removed ${file}\n`);
  if (removed.length === 0)
    process.stdout.write('Nothing to remove: install has not written anything here.\n');
  if (gateway) {
    await tell(gateway, systemCommands.reloadSystemd);
    await tell(gateway, systemCommands.reloadUdev);
  }
  if (isPackaged(options.root))
    process.stdout.write(
      "The package's rule and units stay until the package is removed (apt remove immich-backup-agent).\n",
    );
  process.stdout.write('Kept the configuration, the state folder and every backup.\n');
  return exitCodes.ok;
}
