import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { RunRecord } from '../../src/history/record.js';
import { runAgent, repoRoot, type CliResult } from './cli.js';
import { startDatabase, startServer } from './containers.js';
import { createLoopDrive, type DriveFilesystem, type LoopDrive } from './drive.js';
import { seedImmichDatabase, seedOlderImmichDatabase } from './immich-database.js';
import { writeImmichOriginals, type WrittenOriginals } from './immich-originals.js';
import { createLibrary } from './library.js';
import { awkwardName, type Sandbox } from './sandbox.js';

export const fixturesDir = path.join(repoRoot, 'test/fixtures/immich');

export interface ImmichBed {
  sandbox: Sandbox;
  /** Every path below holds spaces, quotes, `$(...)` and non-ASCII. */
  root: string;
  appDir: string;
  libraryDir: string;
  stateDir: string;
  mountPoint: string;
  backupDir: string;
  logFile: string;
  configFile: string;
  database: string;
  server: string;
  password: string;
  drive: LoopDrive;
  /** What Immich's database references that the bed wrote into the library (its originals with their SHA-1). */
  originals: WrittenOriginals;
  /** Writes config.yml (root-owned, 0600); `extra` is merged over the defaults, section by section. */
  writeConfig(extra?: Record<string, Record<string, unknown> | string>): Promise<string>;
  run(...args: string[]): Promise<CliResult>;
  lastRun(): Promise<RunRecord>;
}

/**
 * A whole Immich install as the agent meets it: the real compose file and .env layout (container
 * names discovered from them), PostgreSQL 17 with pgvector started the way the official image
 * starts, holding Immich v2.7.5's real schema and realistic rows, a server stand-in that mounts
 * the library, a library with awkward names holding every original the database references
 * (content whose SHA-1 is the row's checksum), and a loop-device drive with a random UUID (ext4,
 * or any filesystem drives carry).
 */
export async function createImmichBed(
  sandbox: Sandbox,
  options: {
    uuid?: string;
    driveSizeMb?: number;
    photos?: number;
    assets?: number;
    /** The drive's filesystem (ext4 unless said). */
    fsType?: DriveFilesystem;
    /** An older Immich's database layout (plural table names) instead of v2.7.5's. */
    olderSchema?: boolean;
    /** The database's image (default: PostgreSQL 17 with pgvector). */
    databaseImage?: string;
  } = {},
): Promise<ImmichBed> {
  const root = sandbox.path(awkwardName);
  const appDir = path.join(root, 'immich-app');
  const libraryDir = path.join(root, 'library');
  const password = randomBytes(12).toString('hex');
  await mkdir(appDir, { recursive: true });
  await createLibrary(libraryDir, { photos: options.photos });

  const database = await startDatabase(sandbox, 'postgres', {
    password,
    image: options.databaseImage,
  });
  if (options.olderSchema) await seedOlderImmichDatabase(database, options.assets ?? 2000);
  else await seedImmichDatabase(database, options.assets ?? 2000);
  const originals = await writeImmichOriginals(database, libraryDir, {
    olderSchema: options.olderSchema,
  });
  const server = await startServer(sandbox, 'server', libraryDir);

  // Immich's real compose file, with the container names of this bed.
  const compose = (await readFile(path.join(fixturesDir, 'immich-docker-compose.yml'), 'utf8'))
    .replace('container_name: immich_server', `container_name: ${server}`)
    .replace('container_name: immich_postgres', `container_name: ${database}`);
  await writeFile(path.join(appDir, 'docker-compose.yml'), compose);
  const env = (await readFile(path.join(fixturesDir, 'immich-example.env'), 'utf8'))
    .replace('UPLOAD_LOCATION=./library', 'UPLOAD_LOCATION=../library')
    .replace('DB_PASSWORD=postgres', `DB_PASSWORD=${password}`);
  await writeFile(path.join(appDir, '.env'), env, { mode: 0o600 });

  const drive = await createLoopDrive(sandbox, {
    uuid: options.uuid,
    sizeMb: options.driveSizeMb ?? 96,
    fsType: options.fsType,
  });
  const mountPoint = path.join(root, 'media', 'gonzalo', 'Backup 1');
  const stateDir = path.join(root, 'state');
  const logFile = path.join(root, 'logs', 'immich_backup.log');
  const configFile = path.join(root, 'config.yml');
  // Nothing may stay mounted from the drive when the sandbox goes, whoever mounted it.
  sandbox.defer('unmount the drive', () => drive.unmountAll());

  const bed: ImmichBed = {
    sandbox,
    root,
    appDir,
    libraryDir,
    stateDir,
    mountPoint,
    backupDir: path.join(mountPoint, 'immich-backup'),
    logFile,
    configFile,
    database,
    server,
    password,
    drive,
    originals,
    async writeConfig(extra = {}) {
      const base: Record<string, Record<string, unknown> | string> = {
        immich: { appDir },
        drive: { uuid: drive.uuid, mountPoint },
        log: { file: logFile },
        stateDir,
      };
      const merged: Record<string, unknown> = { ...base };
      for (const [key, value] of Object.entries(extra)) {
        const current = base[key];
        merged[key] =
          typeof value === 'object' && typeof current === 'object'
            ? { ...current, ...value }
            : value;
      }
      await writeFile(configFile, stringify(merged), { mode: 0o600 });
      await chmod(configFile, 0o600);
      return configFile;
    },
    run: (...args) => runAgent(['--config', configFile, ...args]),
    async lastRun() {
      const result = await runAgent(['--config', configFile, 'last-run', '--json']);
      if (result.exitCode !== 0)
        throw new Error(`last-run failed (${result.exitCode}): ${result.stderr}${result.stdout}`);
      return JSON.parse(result.stdout) as RunRecord;
    },
  };
  await bed.writeConfig();
  return bed;
}
