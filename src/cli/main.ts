#!/usr/bin/env node
import { CommanderError } from 'commander';
import { AgentError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { escapeControlCharacters } from '../log/text.js';
import { buildProgram } from './program.js';

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
    // An AgentError's text can quote a file's name: one line, no terminal escapes.
    const message =
      error instanceof AgentError
        ? escapeControlCharacters(error.longMessage)
        : ((error as Error).stack ?? String(error));
    process.stderr.write(`immich-backup-agent: ${message}\n`);
    process.exitCode = exitCodes.failed;
  }
}

await main(process.argv);
