import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, resolveConfigFile, type AgentConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { RunDeps } from '../run/context.js';
import { acquireLock, type HeldLock } from '../run/lock.js';
import { newRunId } from '../run/run-backup.js';
import { prepareDrive, type PreparedDrive } from '../run/steps/prepare-drive.js';
import { UndoStack } from '../run/undo-stack.js';
import { abortOnSignals, createLoggerFor, createRunDeps } from './setup.js';

export interface DriveSession {
  config: AgentConfig;
  logger: Logger;
  deps: RunDeps;
  undo: UndoStack;
  target: PreparedDrive;
  runId: string;
}

/**
 * What `verify`, `restore` and `backups` share: the configuration, a logger, the drive found by
 * UUID and mounted if needed (unmounted again at the end, like a run does), nothing created on
 * it, and, for commands that must not overlap a backup, the run lock.
 */
export async function withBackupDrive<T>(
  configFlag: string | undefined,
  options: { lock: boolean; trigger: string; console?: NodeJS.WritableStream },
  work: (session: DriveSession) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const logger = createLoggerFor(config, { writeFile: true, console: options.console });
  const controller = new AbortController();
  const stopListening = abortOnSignals(controller, logger);
  const deps = createRunDeps(config, logger, controller.signal);
  const runId = newRunId(deps.clock());
  const log = logger.child({ runId, trigger: options.trigger });
  const undo = new UndoStack(log);
  let lock: HeldLock | null = null;
  try {
    if (options.lock) {
      await mkdir(config.stateDir, { recursive: true, mode: 0o755 });
      lock = await acquireLock(path.join(config.stateDir, 'run.lock'), {
        runId,
        trigger: options.trigger,
        startedAt: deps.clock().toISOString(),
      });
    }
    const target = await prepareDrive(
      { config, drive: deps.drive, log, undo, signal: controller.signal, dryRun: false },
      { create: false },
    );
    if (!existsSync(target.backupDir)) {
      throw new AgentError(
        'NO_BACKUP',
        `There is no backup folder ${target.backupDir} on the drive.`,
        {
          step: 'backups',
          hint: 'Check drive.backupDir, or run a backup first.',
        },
      );
    }
    return await work({ config, logger: log, deps: { ...deps, logger: log }, undo, target, runId });
  } finally {
    await undo.unwind();
    await lock?.release();
    stopListening();
  }
}
