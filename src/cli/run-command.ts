import type { RunRequest } from '../run/context.js';
import { exitCodeFor } from '../policy/outcome.js';
import { runBackup } from '../run/run-backup.js';
import { openCommand } from './setup.js';
import { formatRunSummary } from './summary.js';

/** `run`: one backup through runBackup; the exit code follows the outcome (CONTRACT.md). */
export async function runCommand(
  configFlag: string | undefined,
  request: RunRequest,
): Promise<number> {
  // On a terminal, a live progress line under the log; elsewhere (systemd) progress events.
  const terminal =
    process.stdout.isTTY && process.stderr.isTTY
      ? (await import('./live-line.js')).createTerminalLiveLine()
      : null;
  // A dry run changes nothing, not even the log file.
  const command = await openCommand(configFlag, {
    writeFile: !request.dryRun,
    console: terminal?.console,
    liveLine: terminal?.liveLine ?? null,
  });
  try {
    const record = await runBackup(request, command.deps);
    if (process.stdout.isTTY) process.stdout.write(`\n${formatRunSummary(record)}\n`);
    return exitCodeFor(record.outcome, record.reason);
  } finally {
    command.close();
  }
}
