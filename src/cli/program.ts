/**
 * The command line: every command, its options and what it runs. The one definition that
 * `main.ts` parses with and that the man page and docs/commands.md are generated from.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { triggers } from '../history/record.js';
import { backupsCommand } from './backups-command.js';
import { configPrintCommand, configValidateCommand } from './config-command.js';
import { daemonCommand } from './daemon-command.js';
import { installCommand, uninstallCommand } from './install-command.js';
import { lastRunCommand } from './last-run-command.js';
import { logCommand } from './log-command.js';
import { recoverCommand } from './recover-command.js';
import { restoreCommand } from './restore-command.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';
import { pruneVersionsCommand, restorePathCommand } from './versions-command.js';
import { verifyCommand } from './verify-command.js';
import { agentVersion } from './setup.js';

export function buildProgram(): Command {
  const program = new Command('immich-backup-agent')
    .description('Backs up a Docker Compose Immich server to an external USB drive.')
    .version(agentVersion)
    .option(
      '--config <path>',
      'configuration file (default: $IMMICH_BACKUP_AGENT_CONFIG, then /etc/immich-backup-agent/config.yml)',
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('run one backup, as the policy decides')
    .addOption(
      new Option('--trigger <trigger>', 'what started the run').choices(triggers).default('manual'),
    )
    .option('--force', 'run even if no backup is due')
    .option('--dry-run', 'print what would be done and change nothing')
    .option('--drive <uuid>', 'back up to this one of several configured drives')
    .option('--device <path>', 'the block device that was plugged in (/dev/… or its /sys path)')
    .option(
      '--accept-changes',
      'let a run through the mass-change guard (the replaced copies are kept in versions/)',
    )
    .action(
      async (options: {
        trigger: (typeof triggers)[number];
        force?: boolean;
        dryRun?: boolean;
        drive?: string;
        device?: string;
        acceptChanges?: boolean;
      }) => {
        process.exitCode = await runCommand(program.opts<{ config?: string }>().config, {
          trigger: options.trigger,
          force: options.force === true,
          dryRun: options.dryRun === true,
          drive: options.drive,
          device: options.device,
          acceptChanges: options.acceptChanges === true,
        });
      },
    );

  program
    .command('last-run')
    .description('show the most recent run record (exit 1 if there is none)')
    .option('--json', 'print the record as JSON')
    .option('--drive <uuid>', 'the most recent run for this drive (with several drives)')
    .action(async (options: { json?: boolean; drive?: string }) => {
      process.exitCode = await lastRunCommand(
        program.opts<{ config?: string }>().config,
        options.json === true,
        options.drive,
      );
    });

  program
    .command('daemon')
    .description('run the weekly schedule as the fallback trigger, with recovery at start')
    .action(async () => {
      process.exitCode = await daemonCommand(program.opts<{ config?: string }>().config);
    });

  program
    .command('status')
    .description(
      'health: run in progress, last run, last success, next due, drive present (exit 0 healthy, 1 failed, 4 stale)',
    )
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await statusCommand(
        program.opts<{ config?: string }>().config,
        options.json === true,
      );
    });

  program
    .command('verify')
    .description(
      'check the newest backup: dump intact, files complete, a sample matching (exit 0 good, 1 a problem named)',
    )
    .option('--drill', 'also restore the dump into a throwaway container and count rows')
    .option('--date <YYYY-MM-DD>', 'the backup of that day instead of the newest')
    .option('--json', 'print the report as JSON')
    .action(async (options: { drill?: boolean; date?: string; json?: boolean }) => {
      process.exitCode = await verifyCommand(program.opts<{ config?: string }>().config, {
        drill: options.drill === true,
        date: options.date,
        json: options.json === true,
      });
    });

  program
    .command('restore')
    .description(
      'put a backup back: database and library (nothing deleted); without --yes only the plan',
    )
    .option('--date <YYYY-MM-DD>', 'the backup of that day instead of the newest')
    .option('--database-only', 'restore only the database')
    .option('--files-only', 'restore only the library files')
    .option('--yes', 'do it (without: print the plan, change nothing)')
    .option('--force', 'restore even across an Immich major version')
    .option('--path <REL>', 'only this file or folder of the library (with --as-of)')
    .option(
      '--as-of <YYYY-MM-DD>',
      'the file or folder as it was on that day (current copy or a version)',
    )
    .action(
      async (options: {
        path?: string;
        asOf?: string;
        date?: string;
        databaseOnly?: boolean;
        filesOnly?: boolean;
        yes?: boolean;
        force?: boolean;
      }) => {
        if (options.path || options.asOf) {
          if (!options.path || !options.asOf)
            throw new InvalidArgumentError('--path and --as-of go together');
          process.exitCode = await restorePathCommand(program.opts<{ config?: string }>().config, {
            path: options.path,
            asOf: options.asOf,
            yes: options.yes === true,
          });
          return;
        }
        process.exitCode = await restoreCommand(program.opts<{ config?: string }>().config, {
          date: options.date,
          databaseOnly: options.databaseOnly === true,
          filesOnly: options.filesOnly === true,
          yes: options.yes === true,
          force: options.force === true,
        });
      },
    );

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
    .command('recover')
    .description('start the Immich server again if a run that stopped it died')
    .action(async () => {
      process.exitCode = await recoverCommand(program.opts<{ config?: string }>().config);
    });

  return program;
}
