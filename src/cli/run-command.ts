import { loadConfig, resolveConfigFile } from '../config/load.js';
import type { RunRequest } from '../run/context.js';
import { exitCodeFor } from '../run/outcome.js';
import { runBackup } from '../run/run-backup.js';
import { abortOnSignals, createLoggerFor, createRunDeps } from './setup.js';
import { formatRunSummary } from './summary.js';

/** `run`: one backup through runBackup; the exit code follows the outcome (CONTRACT.md). */
export async function runCommand(
  configFlag: string | undefined,
  request: RunRequest,
): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  // A dry run changes nothing, not even the log file.
  const logger = createLoggerFor(config, { writeFile: !request.dryRun });
  const controller = new AbortController();
  const stopListening = abortOnSignals(controller, logger);
  try {
    const record = await runBackup(request, createRunDeps(config, logger, controller.signal));
    if (process.stdout.isTTY) process.stdout.write(`\n${formatRunSummary(record)}\n`);
    return exitCodeFor(record.outcome, record.reason);
  } finally {
    stopListening();
  }
}
