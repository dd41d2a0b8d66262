import path from 'node:path';
import { copyFileAtomic } from '../../adapters/atomic-files.js';
import { driveWriteError } from '../../adapters/drive-errors.js';
import { AgentError } from '../../errors.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from './prepare-drive.js';

/**
 * Copies the compose file and `.env` (which pins the Immich version) beside the dump, so the
 * drive alone is enough to bring the same Immich back. `.env` holds the database password:
 * it is created 0600 and stays so.
 */
export async function copyAppConfigStep(
  context: StepContext,
  target: PreparedDrive,
): Promise<void> {
  const { config, log, state } = context;
  const sources = [
    { file: config.immich.composeFile, mode: 0o644, what: 'compose file' },
    { file: config.immich.envFile, mode: 0o600, what: '.env' },
  ];
  const copied: string[] = [];
  for (const source of sources) {
    if (source.file === null) {
      const message = `No ${source.what} in ${config.immich.appDir} to back up.`;
      state.warn(message);
      log.warn({ step: 'config' }, message);
      continue;
    }
    const name = path.basename(source.file);
    const destination = path.join(target.backupDir, name);
    if (context.dryRun) {
      log.info({ step: 'config' }, `Would copy ${source.file} to ${destination}.`);
      continue;
    }
    await context.drive.proveOnDrive(target.backupDir, target.filesystem);
    try {
      await copyFileAtomic(source.file, destination, source.mode);
    } catch (error) {
      throw (
        driveWriteError(error, name, 'config') ??
        new AgentError(
          'COPY_FAILED',
          `Could not copy ${source.file} to the drive: ${(error as Error).message}.`,
          {
            step: 'config',
            cause: error,
          },
        )
      );
    }
    copied.push(name);
  }
  if (!context.dryRun) {
    state.config = { files: copied };
    log.info(
      { step: 'config' },
      `Copied ${copied.join(' and ') || 'nothing'} to ${target.backupDir}.`,
    );
  }
}
