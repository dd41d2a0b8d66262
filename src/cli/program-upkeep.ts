/**
 * The commands that look after the agent and the drive, rather than back up or restore:
 * prune-versions, backups, log, install, uninstall, config, drive trust, recover (see program.ts).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { backupsCommand } from './backups-command.js';
import { configPrintCommand, configValidateCommand } from './config-command.js';
import { driveTrustCommand } from './drive-trust-command.js';
import { installCommand, uninstallCommand } from './install-command.js';
import { logCommand } from './log-command.js';
import { recoverCommand } from './recover-command.js';
import { pruneVersionsCommand } from './versions-command.js';

export function addUpkeepCommands(program: Command): void {
  program
    .command('prune-versions')
    .description('remove versions older than DAYS from the drive (never the last copy of anything)')
    .requiredOption('--older-than <DAYS>', 'age in days', (value: string) => {
      const days = Number(value);
      if (!Number.isFinite(days) || days < 0)
        throw new InvalidArgumentError('must be a number of days');
      return days;
    })
    .action(async (options: { olderThan: number }) => {
      process.exitCode = await pruneVersionsCommand(
        program.opts<{ config?: string }>().config,
        options.olderThan,
      );
    });

  program
    .command('backups')
    .description('list the dumps on the drive with dates, sizes, versions, verified or not')
    .option('--json', 'print them as JSON')
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await backupsCommand(
        program.opts<{ config?: string }>().config,
        options.json === true,
      );
    });

  program
    .command('log')
    .description('the last events of the agent’s log, readable')
    .addOption(
      new Option('-n, --lines <N>', 'how many events').default(50).argParser((value) => {
        const count = Number(value);
        if (!Number.isInteger(count) || count < 1)
          throw new InvalidArgumentError('must be a whole number of at least 1');
        return count;
      }),
    )
    .option('--json', 'print the events as JSON lines')
    .action(async (options: { lines: number; json?: boolean }) => {
      process.exitCode = await logCommand(program.opts<{ config?: string }>().config, {
        count: options.lines,
        json: options.json === true,
      });
    });

  program
    .command('install')
    .description(
      'write the udev rule, the systemd units and a starting config; reload udev and systemd when DIR is /',
    )
    .option('--root <DIR>', 'write everything under this folder', '/')
    .option(
      '--app-dir <DIR>',
      'the Immich folder with docker-compose.yml and .env',
      '/opt/immich-app',
    )
    .option(
      '--uuid <UUID>',
      'filesystem UUID of a backup drive (repeat for several)',
      (value: string, all: string[]) => [...all, value],
      [],
    )
    .option('--mount-point <DIR>', 'where the agent mounts the drive')
    .action(
      async (options: { root: string; appDir?: string; uuid: string[]; mountPoint?: string }) => {
        process.exitCode = await installCommand(options);
      },
    );

  program
    .command('uninstall')
    .description('remove what install wrote; keep the config, the state and the backups')
    .option('--root <DIR>', 'the folder install wrote under', '/')
    .action(async (options: { root: string }) => {
      process.exitCode = await uninstallCommand(options);
    });

  const configCommand = program.command('config').description('check or show the configuration');
  configCommand
    .command('validate')
    .description('check the configuration (exit 0 valid, 2 with every problem named)')
    .action(async () => {
      process.exitCode = await configValidateCommand(program.opts<{ config?: string }>().config);
    });
  configCommand
    .command('print')
    .description(
      'the configuration as the agent uses it, discovered values filled in, secrets masked',
    )
    .action(async () => {
      process.exitCode = await configPrintCommand(program.opts<{ config?: string }>().config);
    });

  program
    .command('drive')
    .description('the backup drive the agent trusts')
    .command('trust')
    .description(
      'adopt the device now attached with that UUID as the backup drive (a replacement or a first drive), after showing its identity',
    )
    .requiredOption('--uuid <UUID>', 'filesystem UUID of the drive (one of the configured drives)')
    .option('--dry-run', 'show the device and the drive trusted now, change nothing')
    .action(async (options: { uuid: string; dryRun?: boolean }) => {
      process.exitCode = await driveTrustCommand(program.opts<{ config?: string }>().config, {
        uuid: options.uuid,
        dryRun: options.dryRun === true,
      });
    });

  program
    .command('recover')
    .description('start the Immich server again if a run that stopped it died')
    .action(async () => {
      process.exitCode = await recoverCommand(program.opts<{ config?: string }>().config);
    });
}
