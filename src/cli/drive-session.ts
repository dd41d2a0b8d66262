import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  loadConfig,
  resolveConfigFile,
  type AgentConfig,
  type ResolvedDrive,
} from '../config/load.js';
import { AgentError } from '../errors.js';
import { setCurrentRun, type Logger } from '../log/logger.js';
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
  options: { lock: boolean; trigger: string; console?: NodeJS.WritableStream; drive?: string },
  work: (session: DriveSession) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const logger = createLoggerFor(config, { writeFile: true, console: options.console });
  const controller = new AbortController();
  const stopListening = abortOnSignals(controller, logger);
  const deps = createRunDeps(config, logger, controller.signal);
  const runId = newRunId(deps.clock());
  setCurrentRun(runId); // every event of the session carries its runId
  const log = logger.child({ trigger: options.trigger });
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
    const driveConfig = await chooseDrive(config, deps, options.drive);
    const target = await prepareDrive(
      {
        config,
        drive: deps.drive,
        log,
        undo,
        signal: controller.signal,
        dryRun: false,
        driveConfig,
      },
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
    setCurrentRun(null);
  }
}

/** The drive asked for, else the only one, else the first of several that is attached. */
async function chooseDrive(
  config: AgentConfig,
  deps: RunDeps,
  wanted?: string,
): Promise<ResolvedDrive> {
  if (wanted) {
    const drive = config.drives.find(
      (candidate) => candidate.uuid.toLowerCase() === wanted.toLowerCase(),
    );
    if (!drive)
      throw new AgentError(
        'CONFIG_INVALID',
        `--drive ${wanted} is not one of the configured drives.`,
        { step: 'drive' },
      );
    return drive;
  }
  if (config.drives.length === 1) return config.drives[0] as ResolvedDrive;
  for (const drive of config.drives) {
    if (
      await deps.drive.locate(drive.uuid).then(
        () => true,
        () => false,
      )
    )
      return drive;
  }
  throw new AgentError('DRIVE_ABSENT', 'None of the backup drives is attached.', {
    step: 'drive',
    hint: 'Plug one in.',
  });
}
