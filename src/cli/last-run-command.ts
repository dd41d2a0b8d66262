import { loadConfig, resolveConfigFile } from '../config/load.js';
import { createHistoryStore } from '../history/store.js';
import { exitCodes } from './exit-codes.js';
import { formatRunSummary } from './summary.js';

/** `last-run [--json]`: the most recent record of any outcome; exit 1 when there is none. */
export async function lastRunCommand(
  configFlag: string | undefined,
  json: boolean,
): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const record = await createHistoryStore(config.stateDir).latest();
  if (record === null) {
    if (json) process.stdout.write('null\n');
    else process.stdout.write(`No backup run has been recorded in ${config.stateDir} yet.\n`);
    return exitCodes.failed;
  }
  process.stdout.write(
    json ? `${JSON.stringify(record, null, 2)}\n` : `${formatRunSummary(record)}\n`,
  );
  return exitCodes.ok;
}
