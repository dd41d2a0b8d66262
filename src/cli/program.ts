/**
 * The command line: every command, its options and what it runs. The one definition that
 * `main.ts` parses with and that the man page and docs/commands.md are generated from.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { triggers } from '../history/record.js';
import { daemonCommand } from './daemon-command.js';
import { lastRunCommand } from './last-run-command.js';
import { exitCodes } from '../exit-codes.js';
import { restoreCommand } from './restore-command.js';
import { restoreFromDriveCommand } from './restore-from-drive-command.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';
import { restorePathCommand } from './versions-command.js';
import { verifyCommand } from './verify-command.js';
import { agentVersion } from './setup.js';
import { addUpkeepCommands } from './program-upkeep.js';

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
    .option(
      '--full',
      "read back every original on the drive against Immich's own checksum from the backed-up database; exit 1 if any is damaged or missing",
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { drill?: boolean; date?: string; json?: boolean; full?: boolean }) => {
      process.exitCode = await verifyCommand(program.opts<{ config?: string }>().config, {
        drill: options.drill === true,
        date: options.date,
        json: options.json === true,
        full: options.full === true,
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
    .option(
      '--from-drive',
      'on a new machine: bring Immich back from the drive alone (no configuration; run the copy in <drive>/immich-backup/restore-kit/)',
    )
    .option('--library <DIR>', 'with --from-drive: the new library folder (UPLOAD_LOCATION)')
    .option('--app-dir <DIR>', 'with --from-drive: the new, empty folder for compose and .env')
    .option(
      '--backup-dir <DIR>',
      'with --from-drive: the backup folder on the drive, when not run from its restore kit',
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
        fromDrive?: boolean;
        library?: string;
        appDir?: string;
        backupDir?: string;
      }) => {
        if (options.fromDrive) {
          const given = {
            date: '--date',
            path: '--path',
            asOf: '--as-of',
            databaseOnly: '--database-only',
            filesOnly: '--files-only',
            force: '--force',
          } as const;
          process.exitCode = await restoreFromDriveCommand({
            library: options.library,
            appDir: options.appDir,
            backupDir: options.backupDir,
            yes: options.yes === true,
            others: Object.entries(given)
              .filter(([key]) => options[key as keyof typeof given] !== undefined)
              .map(([, flag]) => flag),
          });
          return;
        }
        if (options.library || options.appDir || options.backupDir) {
          process.stderr.write(
            'immich-backup-agent: --library, --app-dir and --backup-dir go with --from-drive.\n',
          );
          process.exitCode = exitCodes.usage;
          return;
        }
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

  addUpkeepCommands(program);

  return program;
}
