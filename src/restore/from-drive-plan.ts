import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { verifyDump, type DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter } from '../adapters/docker.js';
import { parseDotenv } from '../config/dotenv.js';
import { listDumps, pickDump, type DumpEntry } from '../drive-content/dumps.js';
import { AgentError } from '../errors.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { restoreKitFiles, restoreKitFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { parseKitManifest, type KitImage, type KitManifest } from '../restore-kit/kit-manifest.js';
import { composeServices, serviceOf } from './from-drive-compose.js';
import { assertLineBased, newMachineEnv } from './from-drive-env.js';
import { checkFilesFolder, refuseInstalled } from './from-drive-places.js';
import { checkLibraryPlace } from './library-folder.js';
import { guardVersions, versionFacts, type VersionFacts } from './version-guard.js';

export interface FromDriveOptions {
  /** The new library folder (UPLOAD_LOCATION). */
  library: string;
  /** The new app folder, where compose and .env are written. */
  appDir: string;
  /** The backup folder when not run from a kit (`--backup-dir`). */
  backupDir?: string;
  /** The file being run (process.argv[1]): the kit it is in tells the backup folder. */
  scriptPath: string;
}

export interface PlannedImage {
  role: 'server' | 'database';
  image: KitImage | null;
  /** here (by id), on the drive (saved in the kit), or missing (to be pulled). */
  source: 'here' | 'drive' | 'missing' | 'unknown';
}

export interface FromDrivePlan {
  backupDir: string;
  kitDir: string;
  kit: KitManifest;
  dump: DumpEntry;
  dumpFile: string;
  format: DumpFormat;
  versions: VersionFacts;
  appDir: string;
  library: string;
  dbDataDir: string;
  composeName: string;
  composeText: string;
  /** The .env the new app dir gets, and its values. */
  envText: string;
  env: Map<string, string>;
  /** The compose service whose container is the kit's database container. */
  databaseService: string;
  images: PlannedImage[];
  /** Image references of the compose file the engine does not have: compose would pull them. */
  toPull: string[];
}

const kitFileMaxBytes = 256 * 1024;

/**
 * The backup folder: the one holding the `restore-kit/` folder the running file is in (its real
 * path), or `--backup-dir`. Nothing else is looked at: no configuration, no state.
 */
export async function findBackupDir(scriptPath: string, backupDir?: string): Promise<string> {
  if (backupDir !== undefined) return path.resolve(backupDir);
  const script = await realpath(scriptPath).catch(() => path.resolve(scriptPath));
  const folder = path.dirname(script);
  if (path.basename(folder) === restoreKitFolder) return path.dirname(folder);
  throw new AgentError(
    'NO_BACKUP',
    `This agent (${script}) is not in a backup's ${restoreKitFolder}/ folder, so it cannot tell which backup to restore.`,
    {
      step: 'restore',
      hint: `Run the copy on the drive (node <drive>/immich-backup/${restoreKitFolder}/${restoreKitFiles.agent} restore --from-drive …), or give --backup-dir <drive>/immich-backup.`,
    },
  );
}

async function readKitFile(file: string, what: string): Promise<string> {
  const read = await readSmallRegularFile(file, kitFileMaxBytes);
  if ('absent' in read) {
    throw new AgentError('NO_BACKUP', `The ${what} ${file} cannot be read: ${read.absent}.`, {
      step: 'restore',
      hint: 'Check that the drive holds a backup made by immich-backup-agent with a restore kit.',
    });
  }
  return read.text;
}

/**
 * Reads what a restore from the drive would do, changing nothing: the kit's manifest, the
 * newest dump (read to its end), its sidecar, the compose file and .env; refuses an app dir
 * that already holds an installation, a library in a system folder, a .env that cannot be
 * written safely, and versions the new machine cannot take.
 */
export async function planFromDrive(
  options: FromDriveOptions,
  deps: { docker: DockerAdapter; log: Logger; signal?: AbortSignal },
): Promise<FromDrivePlan> {
  const backupDir = await findBackupDir(options.scriptPath, options.backupDir);
  const kitDir = path.join(backupDir, restoreKitFolder);
  const manifest = parseKitManifest(
    await readKitFile(path.join(kitDir, restoreKitFiles.manifest), 'restore kit manifest'),
  );
  if ('problem' in manifest) {
    throw new AgentError(
      'NO_BACKUP',
      `The restore kit's ${restoreKitFiles.manifest} cannot be believed: ${manifest.problem}.`,
      {
        step: 'restore',
        hint: 'Follow RESTORE.md by hand, or run a backup again to rewrite the kit.',
      },
    );
  }
  const kit = manifest;
  const appDir = path.resolve(options.appDir);
  // Never into the backup itself (the drive), nor a system folder.
  const library = await checkLibraryPlace(path.resolve(options.library), [backupDir]);
  await refuseInstalled(appDir);
  const dbDataDir = path.join(appDir, 'postgres');

  const composeText = await readKitFile(path.join(backupDir, kit.layout.compose), 'compose file');
  const backedUpEnv = await readKitFile(path.join(backupDir, kit.layout.env), '.env');
  assertLineBased(backedUpEnv);
  const envText = newMachineEnv(backedUpEnv, {
    uploadLocation: library,
    dbDataLocation: dbDataDir,
  });
  const env = parseDotenv(envText);
  const services = composeServices(composeText, env);
  const databaseService = serviceOf(services, kit.immich.databaseContainer);

  await checkFilesFolder(backupDir);
  const dump = pickDump(await listDumps(backupDir, deps.log));
  const dumpFile = path.join(backupDir, dump.name);
  const { format } = await verifyDump(dumpFile, deps.signal);
  const versions = versionFacts(kit, dump.sidecar);
  guardVersions(versions);

  const images: PlannedImage[] = [];
  for (const role of ['database', 'server'] as const) {
    const image = kit.images[role];
    images.push({ role, image, source: await imageSource(deps.docker, kitDir, image) });
  }
  // What compose would pull: images the engine does not find by the compose file's reference
  // (a digest-pinned one is found only in an image pulled from a registry, not a loaded one).
  const savedIds = new Set(
    images.filter((entry) => entry.source === 'drive').map((entry) => entry.image?.reference),
  );
  const toPull: string[] = [];
  for (const service of services) {
    if (service.image === '' || savedIds.has(service.image)) continue;
    if ((await deps.docker.imageInfo(service.image).catch(() => null)) === null)
      toPull.push(service.image);
  }
  return {
    backupDir,
    kitDir,
    kit,
    dump,
    dumpFile,
    format,
    versions,
    appDir,
    library,
    dbDataDir,
    composeName: kit.layout.compose,
    composeText,
    envText,
    env,
    databaseService,
    images,
    toPull,
  };
}

async function imageSource(
  docker: DockerAdapter,
  kitDir: string,
  image: KitImage | null,
): Promise<PlannedImage['source']> {
  if (!image) return 'unknown';
  if ((await docker.imageInfo(image.id).catch(() => null)) !== null) return 'here';
  if (image.saved && (await lstat(path.join(kitDir, image.saved)).catch(() => null))?.isFile())
    return 'drive';
  return 'missing';
}
