import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defaultUploadMounts } from '../model/immich-paths.js';
import { uploadMountsOf } from './compose-volumes.js';
import { interpolate, parseDotenv } from './dotenv.js';
import { readImmichFile } from './immich-file.js';

/** Compose file names in the order `docker compose` looks for them. */
export const composeFileNames = [
  'compose.yaml',
  'compose.yml',
  'docker-compose.yml',
  'docker-compose.yaml',
];

export interface ImmichInstall {
  appDir: string;
  /** Absolute path of the compose file found, or null. */
  composeFile: string | null;
  /** Absolute path of `.env`, or null when there is none. */
  envFile: string | null;
  env: ReadonlyMap<string, string>;
  /** Container names of the server and the database as compose would name them. */
  serverContainer: string | null;
  databaseContainer: string | null;
  /**
   * Where the server container sees UPLOAD_LOCATION (its volume's targets in the compose file,
   * then defaultUploadMounts, always): the start of the paths Immich stores.
   */
  uploadMounts: string[];
  /** Problems found while reading (a file missing, unreadable), with the file they are about. */
  problems: string[];
  /**
   * Files that are there but not taken (a symlink, not a regular file, writable by someone other
   * than root and the app folder's owner): the app folder's owner does not steer root.
   */
  refused: string[];
}

/**
 * Reads what the agent needs from an Immich install: `.env` (UPLOAD_LOCATION, DB_USERNAME,
 * DB_DATABASE_NAME, DB_PASSWORD) and the compose file (`container_name` of the server and the
 * database; compose's own `<project>-<service>-1` when a service has none). Works with the
 * current layout and the v1 layout; missing files are reported, not thrown. Both files are
 * read as input from the app folder's owner (see readImmichFile): one that is not safe to take
 * is named in `refused` and not read.
 */
export async function readImmichInstall(appDir: string): Promise<ImmichInstall> {
  const problems: string[] = [];
  const refused: string[] = [];
  let env = new Map<string, string>();
  let envFound: string | null = null;
  const envRead = await readImmichFile(appDir, '.env');
  if ('content' in envRead) {
    env = parseDotenv(envRead.content.toString('utf8'));
    envFound = envRead.file;
  } else if ('refused' in envRead) refused.push(envRead.refused);
  else problems.push(envRead.missing);

  let composeFile: string | null = null;
  let serverContainer: string | null = null;
  let databaseContainer: string | null = null;
  let uploadMounts: string[] = [];
  let composeSeen = false;
  for (const name of composeFileNames) {
    const read = await readImmichFile(appDir, name);
    if ('missing' in read && read.notFound) continue;
    composeSeen = true;
    if ('refused' in read) refused.push(read.refused);
    else if ('missing' in read) problems.push(read.missing);
    else {
      composeFile = read.file;
      try {
        const services = composeServices(read.content.toString('utf8'), env, path.basename(appDir));
        serverContainer = services.server?.containerName ?? null;
        databaseContainer = services.database?.containerName ?? null;
        const mounts = uploadMountsOf(services.server?.definition, env, appDir);
        uploadMounts = mounts.targets;
        problems.push(...mounts.refused.map((why) => `${read.file}: ${why}; not used`));
      } catch (error) {
        problems.push(`${read.file} is not valid YAML: ${(error as Error).message}`);
      }
    }
    break;
  }
  if (!composeSeen) problems.push(`no compose file (${composeFileNames.join(', ')}) in ${appDir}`);
  return {
    appDir,
    composeFile,
    envFile: envFound,
    env,
    serverContainer,
    databaseContainer,
    // The defaults are always tried too (after what the compose file says): a mount the file
    // shows wrongly, or not at all, must not leave every original unrecognised. Each path found
    // is checked to map back to the very file (immichPathsOf).
    uploadMounts: [...new Set([...uploadMounts, ...defaultUploadMounts])],
    problems,
    refused,
  };
}

interface ComposeService {
  container_name?: unknown;
  image?: unknown;
  volumes?: unknown;
}

interface FoundService {
  service: string;
  image: string;
  containerName: string;
  definition: ComposeService | null;
}

export function containerNamesFromCompose(
  text: string,
  env: ReadonlyMap<string, string>,
  folderName: string,
): { server: string | null; database: string | null } {
  const { server, database } = composeServices(text, env, folderName);
  return { server: server?.containerName ?? null, database: database?.containerName ?? null };
}

/** The server's and the database's services in a compose file, with their container names. */
function composeServices(
  text: string,
  env: ReadonlyMap<string, string>,
  folderName: string,
): { server: FoundService | undefined; database: FoundService | undefined } {
  const document = (parseYaml(text) ?? {}) as { name?: unknown; services?: unknown };
  const services = (
    typeof document.services === 'object' && document.services !== null ? document.services : {}
  ) as Record<string, ComposeService | null>;
  const project = composeProjectName(
    // Compose's own order: COMPOSE_PROJECT_NAME, then the top-level name, then the folder.
    env.get('COMPOSE_PROJECT_NAME') ||
      (typeof document.name === 'string' ? interpolate(document.name, env) : folderName),
  );
  const entries = Object.entries(services).map(([service, definition]) => ({
    service,
    definition,
    image: typeof definition?.image === 'string' ? interpolate(definition.image, env) : '',
    containerName:
      typeof definition?.container_name === 'string'
        ? interpolate(definition.container_name, env)
        : `${project}-${service}-1`,
  }));
  const server =
    entries.find((entry) => entry.service === 'immich-server') ??
    entries.find((entry) => /immich-server/.test(entry.image));
  const database =
    entries.find((entry) => entry.service === 'database') ??
    entries.find((entry) => /postgres/.test(entry.image));
  return { server, database };
}

/** Compose lowercases the project name and keeps only [a-z0-9_-]. */
function composeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}
