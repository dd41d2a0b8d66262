import { AgentError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { openCommand } from './setup.js';
import { formatRunSummary } from './summary.js';

/**
 * `last-run [--json] [--drive UUID]`: the most recent record of any outcome (of that drive);
 * exit 1 when there is none.
 */
export async function lastRunCommand(
  configFlag: string | undefined,
  json: boolean,
  drive?: string,
): Promise<number> {
  const { config, deps } = await openCommand(configFlag, {
    writeFile: false,
    console: process.stderr,
    signals: false,
    quiet: true,
  });
  if (drive && !config.drives.some((one) => one.uuid.toLowerCase() === drive.toLowerCase())) {
    throw new AgentError(
      'CONFIG_INVALID',
      `--drive ${drive} is not one of the configured drives (${config.drives.map((one) => one.uuid).join(', ')}).`,
    );
  }
  const record = await deps.history.latest(drive);
  if (record === null) {
    if (json) process.stdout.write('null\n');
    else
      process.stdout.write(
        `No backup run${drive ? ` for drive ${drive}` : ''} has been recorded in ${config.stateDir} yet.\n`,
      );
    return exitCodes.failed;
  }
  process.stdout.write(
    json ? `${JSON.stringify(record, null, 2)}\n` : `${formatRunSummary(record)}\n`,
  );
  return exitCodes.ok;
}
