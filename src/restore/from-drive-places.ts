import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { composeFileNames } from '../config/immich-discovery.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { ProcessGateway } from '../adapters/process.js';
import { AgentError } from '../errors.js';
import { filesFolder } from '../layout/drive.js';
import type { ComposeService } from './from-drive-compose-file.js';
import { checkLibraryPlace, refusedPlace } from './library-folder.js';

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

/**
 * The app folder's real path (links resolved, as the library's): refused in a system folder or on
 * the drive, whichever way it is reached.
 */
export async function checkAppPlace(appDir: string, backupDir: string): Promise<string> {
  const refusedAs = (folder: string, why: string) =>
    new AgentError('CONFIG_INVALID', `The app folder ${appDir} is in ${folder}, ${why}.`, {
      step: 'restore',
      hint: 'Choose a new folder for Immich, such as /opt/immich-app.',
    });
  const refused = refusedPlace(appDir, [backupDir]);
  if (refused) throw refusedAs(refused.folder, refused.why);
  return checkLibraryPlace(appDir, [backupDir]).catch(() => {
    throw refusedAs('a system folder or on the drive', 'by its real path (a link leads there)');
  });
}

/**
 * The library and the app folder apart (real paths): not the same folder, the app folder not in
 * the library, the library not in the database folder. A library below the app folder (Immich's
 * own ./library) is fine.
 */
export function refuseOverlap(library: string, appDir: string, dbDataDir: string): void {
  const within = (child: string, parent: string) =>
    child === parent || child.startsWith(`${parent}/`);
  const why =
    library === appDir
      ? 'is the app folder'
      : within(appDir, library)
        ? 'holds the app folder'
        : within(library, dbDataDir)
          ? 'is in the database folder'
          : null;
  if (why === null) return;
  throw new AgentError(
    'CONFIG_INVALID',
    `The library ${library} ${why} (${appDir}): the copy and the database would write into each other.`,
    {
      step: 'restore',
      hint: 'Give --library and --app-dir folders apart (or the library as <app>/library).',
    },
  );
}

/** Never over an installation: an app dir with a compose file or .env is refused. */
export async function refuseInstalled(appDir: string): Promise<void> {
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

/**
 * Compose recreates a container of the same name: another Immich on this machine (its
 * immich_postgres, immich_server) would be replaced by the restore's. Refused while any exists.
 */
export async function refuseExistingContainers(
  docker: DockerAdapter,
  services: readonly ComposeService[],
  project: string,
): Promise<void> {
  const names = services.flatMap((service) =>
    service.containerName ? [service.containerName] : [],
  );
  // Compose also takes over every container of its project (those it named itself).
  const found = await docker.namesWithLabel(`com.docker.compose.project=${project}`);
  for (const name of names)
    if (!found.includes(name) && (await docker.inspect(name)) !== null) found.push(name);
  if (found.length === 0) return;
  throw new AgentError(
    'RESTORE_FAILED',
    `This machine already has the container${found.length > 1 ? 's' : ''} ${found.join(', ')}: compose would replace ${found.length > 1 ? 'them' : 'it'} with the restore's (an Immich installed here would be taken over).`,
    {
      step: 'restore',
      hint: `If it is an Immich to keep, restore into it with the configured \`restore\`; if it is a leftover, remove it (docker compose down in its app folder, or docker rm -f ${found.join(' ')}) and run again.`,
    },
  );
}

/**
 * Compose also takes over the volumes and networks of its project (a leftover `docker compose
 * down` keeps volumes): refused while any exists. Listed with the docker CLI (the Docker adapter
 * lists containers only); refused too when they cannot be listed.
 */
export async function refuseProjectResources(
  gateway: ProcessGateway,
  project: string,
  signal?: AbortSignal,
): Promise<void> {
  const found: string[] = [];
  const label = `label=com.docker.compose.project=${project}`;
  for (const kind of ['volume', 'network'] as const) {
    const result = await gateway
      .run({
        tool: 'docker',
        file: 'docker',
        args: [kind, 'ls', '--quiet', '--filter', label],
        timeoutMs: 60_000,
        signal,
        step: 'restore',
      })
      .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
    if (result.exitCode !== 0) {
      throw new AgentError(
        'RESTORE_FAILED',
        `The ${kind}s of the compose project ${project} could not be listed (docker ${kind} ls: ${result.stderr.trim() || `exit ${result.exitCode}`}): compose could take over one that exists.`,
        { step: 'restore', hint: 'Check that the docker CLI works, then run the restore again.' },
      );
    }
    for (const name of result.stdout.split('\n').filter((line) => line.trim() !== ''))
      found.push(`the ${kind} ${name.trim()}`);
  }
  if (found.length === 0) return;
  throw new AgentError(
    'RESTORE_FAILED',
    `This machine already has ${found.join(', ')} of the compose project ${project}: compose would take ${found.length > 1 ? 'them' : 'it'} over for the restore.`,
    {
      step: 'restore',
      hint: `If it is a leftover, remove it (docker volume rm / docker network rm), or give another --app-dir (another project name), and run again.`,
    },
  );
}
