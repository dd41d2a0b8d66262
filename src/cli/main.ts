#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { AgentError } from '../errors.js';
import { triggers } from '../history/record.js';
import { daemonCommand } from './daemon-command.js';
import { exitCodes } from './exit-codes.js';
import { lastRunCommand } from './last-run-command.js';
import { recoverCommand } from './recover-command.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';
import { agentVersion } from './setup.js';

function buildProgram(): Command {
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
    .option(
      '--accept-changes',
      'let a run through the mass-change guard (accepted; the guard itself is not built yet)',
    )
    .action(
      async (options: {
        trigger: (typeof triggers)[number];
        force?: boolean;
        dryRun?: boolean;
      }) => {
        process.exitCode = await runCommand(program.opts<{ config?: string }>().config, {
          trigger: options.trigger,
          force: options.force === true,
          dryRun: options.dryRun === true,
        });
      },
    );

  program
    .command('last-run')
    .description('show the most recent run record (exit 1 if there is none)')
    .option('--json', 'print the record as JSON')
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await lastRunCommand(
        program.opts<{ config?: string }>().config,
        options.json === true,
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
    .command('recover')
    .description('start the Immich server again if a run that stopped it died')
    .action(async () => {
      process.exitCode = await recoverCommand(program.opts<{ config?: string }>().config);
    });

  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with code 0; every other parse problem is a usage error.
      process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
      return;
    }
    if (
      error instanceof AgentError &&
      (error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_INSECURE')
    ) {
      process.stderr.write(
        `immich-backup-agent: ${error.message}\n${error.hint ? `${error.hint}\n` : ''}`,
      );
      process.exitCode = exitCodes.usage;
      return;
    }
    const message =
      error instanceof AgentError ? error.longMessage : ((error as Error).stack ?? String(error));
    process.stderr.write(`immich-backup-agent: ${message}\n`);
    process.exitCode = exitCodes.failed;
  }
}

await main(process.argv);
