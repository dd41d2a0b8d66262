import { createDockerAdapter } from '../adapters/docker.js';
import { createProcessGateway } from '../adapters/process.js';
import { AgentError, isAgentError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { createLogger } from '../log/logger.js';
import { escapeControlCharacters } from '../log/text.js';
import { executeFromDrive, type LoadKitImage } from '../restore/from-drive-execute.js';
import { planFromDrive } from '../restore/from-drive-plan.js';
import { formatFromDrivePlan, formatFromDriveSummary } from './restore-from-drive-text.js';

export interface FromDriveCommandOptions {
  library?: string;
  appDir?: string;
  backupDir?: string;
  yes: boolean;
  /** Options of the configured restore given with --from-drive (refused). */
  others: string[];
}

/** A usage mistake of `restore --from-drive`: exit 2 with the sentence. */
export function fromDriveUsage(options: FromDriveCommandOptions): string | null {
  if (options.others.length > 0)
    return `--from-drive does not go with ${options.others.join(', ')}: it restores the newest backup, whole, onto a new machine.`;
  const missing = [
    options.library ? null : '--library DIR',
    options.appDir ? null : '--app-dir DIR',
  ].filter(Boolean);
  if (missing.length > 0)
    return `--from-drive needs ${missing.join(' and ')}: where the library goes and where Immich's compose file and .env are written.`;
  return null;
}

/**
 * `restore --from-drive --library DIR --app-dir DIR [--backup-dir DIR] [--yes]`: on a new machine,
 * with only Docker, Node and the drive. No configuration, no state folder, logs on stderr;
 * without --yes the plan and nothing changed. Exit 0 planned or restored, 1 failed or refused,
 * 2 usage.
 */
export async function restoreFromDriveCommand(
  options: FromDriveCommandOptions,
  extra: { loadKitImage?: LoadKitImage; scriptPath?: string } = {},
): Promise<number> {
  const usage = fromDriveUsage(options);
  if (usage) {
    process.stderr.write(`immich-backup-agent: ${usage}\n`);
    return exitCodes.usage;
  }
  const { logger } = createLogger({
    file: null,
    level: 'info',
    pretty: process.stderr.isTTY === true,
    secrets: [],
    console: process.stderr,
  });
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const docker = createDockerAdapter();
    // Before anything: without the engine, no image can be looked at and nothing started.
    await docker.ping();
    const gateway = createProcessGateway({ logger, secrets: [] });
    const plan = await planFromDrive(
      {
        library: options.library as string,
        appDir: options.appDir as string,
        backupDir: options.backupDir,
        scriptPath: extra.scriptPath ?? process.argv[1] ?? '',
      },
      { docker, gateway, log: logger, signal: controller.signal },
    );
    // Every value in the text is escaped where it is put (a line break from the drive stays in
    // its line); the text itself is written as it is.
    process.stdout.write(`${formatFromDrivePlan(plan)}\n`);
    if (!options.yes) return exitCodes.ok;
    const summary = await executeFromDrive(plan, {
      docker,
      gateway,
      log: logger,
      signal: controller.signal,
      loadKitImage: extra.loadKitImage,
    });
    process.stdout.write(`${formatFromDriveSummary(summary)}\n`);
    // Interrupted: what still runs (psql fed the dump, before its COMMIT) ends with the process.
    if (controller.signal.aborted) process.exit(exitCodes.failed);
    return summary.ok ? exitCodes.ok : exitCodes.failed;
  } catch (error) {
    if (!isAgentError(error)) throw error;
    const refused = error instanceof AgentError ? error.longMessage : String(error);
    process.stdout.write(`Restore refused: ${escapeControlCharacters(refused)}\n`);
    return exitCodes.failed;
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}
