import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { composeFileNames } from '../config/immich-discovery.js';
import { AgentError } from '../errors.js';
import { filesFolder } from '../layout/drive.js';
import { refusedPlace } from './library-folder.js';

/**
 * files/ of the backup: a real folder on the backup's own filesystem, never a link (rsync would
 * follow a `files` symlink's target as its source: anything on this machine into the library).
 */
export async function checkFilesFolder(backupDir: string): Promise<string> {
  const filesDir = path.join(backupDir, filesFolder);
  const [files, backup] = await Promise.all([
    lstat(filesDir).catch(() => null),
    lstat(backupDir).catch(() => null),
  ]);
  if (!files?.isDirectory() || files.dev !== backup?.dev) {
    throw new AgentError(
      'NO_BACKUP',
      `${filesDir} is ${files === null ? 'not there' : files.isSymbolicLink() ? 'a symlink' : files.isDirectory() ? 'on another filesystem than the backup' : 'not a folder'}: the library's copy must be a folder of the backup itself.`,
      { step: 'restore', hint: 'Check the drive: it is not a backup this agent made as it is.' },
    );
  }
  return filesDir;
}

/** Never over an installation: an app dir with a compose file or .env is refused. */
export async function refuseInstalled(appDir: string): Promise<void> {
  const refused = refusedPlace(appDir, []);
  if (refused) {
    throw new AgentError(
      'CONFIG_INVALID',
      `The app folder ${appDir} is in ${refused.folder}, ${refused.why}.`,
      { step: 'restore', hint: 'Choose a new folder for Immich, such as /opt/immich-app.' },
    );
  }
  const names = await readdir(appDir).catch(() => [] as string[]);
  const found = names.filter((name) => [...composeFileNames, '.env'].includes(name));
  if (found.length > 0) {
    throw new AgentError(
      'RESTORE_FAILED',
      `${appDir} already holds ${found.join(' and ')}: a restore from the drive never writes over an installation.`,
      {
        step: 'restore',
        hint: 'Give a new, empty --app-dir; to restore into the Immich installed there, configure the agent and use `restore` without --from-drive.',
      },
    );
  }
  const dbData = await lstat(path.join(appDir, 'postgres')).catch(() => null);
  if (dbData) {
    throw new AgentError(
      'RESTORE_FAILED',
      `${path.join(appDir, 'postgres')} already exists: the database would start from what it holds.`,
      { step: 'restore', hint: 'Give a new, empty --app-dir.' },
    );
  }
}
