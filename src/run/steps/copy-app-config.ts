import { stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../files/atomic-files.js';
import { driveWriteError } from '../../adapters/drive-errors.js';
import { AgentError } from '../../errors.js';
import { readImmichFile } from '../../config/immich-file.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

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
    if (context.request.dryRun) {
      log.info({ step: 'config' }, `Would copy ${source.file} to ${destination}.`);
      continue;
    }
    const content = await readAppFile(config.immich.appDir, name);
    await context.drive.proveOnDrive(target.backupDir, target.filesystem);
    try {
      await writeFileAtomic(destination, content, source.mode);
    } catch (error) {
      throw (
        driveWriteError(error, name, 'config', target.backupDir) ??
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
    if (source.mode === 0o600) await warnIfOthersCanRead(context, target, destination);
  }
  if (!context.request.dryRun) {
    state.config = { files: copied };
    log.info(
      { step: 'config' },
      `Copied ${copied.join(' and ') || 'nothing'} to ${target.backupDir}.`,
    );
  }
}

/**
 * The file as it is now, read the way discovery read it (no symlink followed, a regular file
 * owned by root or the app folder's owner and writable by no one else), through the descriptor
 * that was checked: hours after the configuration was read, a name swapped for a symlink to a
 * root-only file copies nothing to the drive.
 */
async function readAppFile(appDir: string, name: string): Promise<Buffer> {
  const read = await readImmichFile(appDir, name);
  if ('content' in read) return read.content;
  if ('refused' in read) {
    throw new AgentError('CONFIG_INSECURE', `Refusing to copy ${read.refused}.`, {
      step: 'config',
      hint: `Keep ${name} in ${appDir} a regular file (not a symlink) owned by root or the folder's owner and writable by no one else.`,
    });
  }
  throw new AgentError('COPY_FAILED', `Could not read ${read.missing}.`, {
    step: 'config',
    hint: `Check ${appDir} and its files.`,
  });
}

/**
 * `.env` holds the database password (and the dump the whole database). The agent mounts a
 * drive without permissions so that only root can read it; a drive someone else mounted (a
 * desktop's automount of an exFAT stick gives the desktop's user everything, 0777 for some
 * drivers) may not be: say so, with what to do.
 */
async function warnIfOthersCanRead(
  context: StepContext,
  target: PreparedDrive,
  file: string,
): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (info === null || (info.uid === 0 && (info.mode & 0o077) === 0)) return;
  const message = `The backup drive is mounted at ${target.shownMountPoint} so that users other than root can read the database dump and .env with the database password (owner uid ${info.uid}, mode ${(info.mode & 0o777).toString(8)}). Unmount it and let the agent mount it, or mount it with uid=0,gid=0,umask=077.`;
  context.state.warn(message);
  context.log.warn({ step: 'config' }, message);
}
