import { existsSync } from 'node:fs';
import type { AgentConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { chooseDrive } from './choose-drive.js';
import type { RunDeps } from './deps.js';
import { takeRunLock, type HeldLock } from './lock.js';
import { prepareDrive, type PreparedDrive } from './prepare-drive.js';
import { newRunId } from './run-id.js';
import { UndoStack } from './undo-stack.js';

export interface DriveSession {
  config: AgentConfig;
  logger: Logger;
  deps: RunDeps;
  undo: UndoStack;
  target: PreparedDrive;
  runId: string;
}

export interface DriveSessionOptions {
  /** Hold the run lock (what must not overlap a backup: verify, restore). */
  lock: boolean;
  /** Named in the lock and the log. */
  trigger: string;
  /** `--drive UUID`, else the first attached one (chooseDrive's `first-attached`). */
  drive?: string;
}

/**
 * What `verify`, `restore`, `backups` and `prune-versions` share: the drive found by UUID and
 * mounted if needed (unmounted again at the end, as a run does), nothing created on it, every
 * event tagged with the session's id, and, for what must not overlap a backup, the run lock.
 */
export async function withDriveSession<T>(
  deps: RunDeps,
  options: DriveSessionOptions,
  work: (session: DriveSession) => Promise<T>,
): Promise<T> {
  const { config } = deps;
  const runId = newRunId(deps.clock());
  deps.runScope.enter(runId);
  const log = deps.logger.child({ trigger: options.trigger });
  const undo = new UndoStack(log);
  let lock: HeldLock | null = null;
  try {
    if (options.lock) {
      lock = await takeRunLock(config.stateDir, {
        runId,
        trigger: options.trigger,
        startedAt: deps.clock().toISOString(),
      });
    }
    const driveConfig = await chooseDrive(deps, { drive: options.drive }, 'first-attached');
    const target = await prepareDrive(
      {
        config,
        drive: deps.drive,
        log,
        undo,
        signal: deps.signal,
        dryRun: false,
        driveConfig,
        runId,
      },
      { create: false },
    );
    if (!existsSync(target.backupDir)) {
      throw new AgentError(
        'NO_BACKUP',
        `There is no backup folder ${target.backupDir} on the drive.`,
        { step: 'backups', hint: 'Check drive.backupDir, or run a backup first.' },
      );
    }
    return await work({ config, logger: log, deps: { ...deps, logger: log }, undo, target, runId });
  } finally {
    await undo.unwind();
    await lock?.release();
    deps.runScope.leave();
  }
}
