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
  // On a terminal, a live progress line under the log; elsewhere (systemd) progress events.
  const terminal =
    process.stdout.isTTY && process.stderr.isTTY
      ? (await import('./live-line.js')).createTerminalLiveLine()
      : null;
  // A dry run changes nothing, not even the log file.
  const logger = createLoggerFor(config, {
    writeFile: !request.dryRun,
    console: terminal?.console,
  });
  const controller = new AbortController();
  const stopListening = abortOnSignals(controller, logger);
  try {
    const record = await runBackup(
      request,
      createRunDeps(config, logger, controller.signal, terminal?.liveLine ?? null),
    );
    if (process.stdout.isTTY) process.stdout.write(`\n${formatRunSummary(record)}\n`);
    return exitCodeFor(record.outcome, record.reason);
  } finally {
    stopListening();
  }
}
