import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { verifyDump, type DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { ProcessGateway } from '../adapters/process.js';
import { parseDotenv } from '../config/dotenv.js';
import { listDumps, pickDump, type DumpEntry } from '../drive-content/dumps.js';
import { AgentError } from '../errors.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { restoreKitFiles, restoreKitFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { parseKitManifest, type KitManifest } from '../restore-kit/kit-manifest.js';
import { imagesToPull, plannedImages, type PlannedImage } from './from-drive-images.js';
import { composeProjectName, findCompose, type ComposeFlavour } from './from-drive-compose.js';
import {
  assertDatabaseMount,
  composeServices,
  refuseBeyondImmich,
  serviceOf,
  withoutDigests,
  type ComposeService,
} from './from-drive-compose-file.js';
import { composeInterpolation, newMachineEnv } from './from-drive-env.js';
import {
  checkAppPlace,
  checkFilesFolder,
  refuseExistingContainers,
  refuseProjectResources,
  refuseInstalled,
  refuseOverlap,
} from './from-drive-places.js';
import { checkRestoreSpace, type RestoreSpace } from './from-drive-space.js';
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

export type { PlannedImage } from './from-drive-images.js';

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
  /** The compose file as written into the app dir (the drive's, digests removed as said). */
  composeText: string;
  /** Services whose image's `@sha256:` was removed so that compose uses the loaded image. */
  unpinned: string[];
  /** Which compose runs it. */
  flavour: ComposeFlavour;
  /** The .env the new app dir gets, and its values. */
  envText: string;
  env: Map<string, string>;
  /** The compose service whose container is the kit's database container. */
  databaseService: string;
  /** The compose service whose container is the kit's server container, if there is one. */
  serverService: string | null;
  /** Every service, its image and its container name (as shown in the plan). */
  services: ComposeService[];
  images: PlannedImage[];
  /** Image references of the compose file the engine does not have: compose would pull them. */
  toPull: string[];
  space: RestoreSpace;
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
  deps: { docker: DockerAdapter; gateway: ProcessGateway; log: Logger; signal?: AbortSignal },
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
  // Never into the backup itself (the drive), nor a system folder; real paths, links resolved.
  const library = await checkLibraryPlace(path.resolve(options.library), [backupDir]);
  const appDir = await checkAppPlace(path.resolve(options.appDir), backupDir);
  await refuseInstalled(appDir);
  const dbDataDir = path.join(appDir, 'postgres');
  refuseOverlap(library, appDir, dbDataDir);
  // Before anything is written: which compose will run it.
  const flavour = await findCompose(deps.gateway, deps.signal);

  const driveCompose = await readKitFile(path.join(backupDir, kit.layout.compose), 'compose file');
  const backedUpEnv = await readKitFile(path.join(backupDir, kit.layout.env), '.env');
  const envText = newMachineEnv(backedUpEnv, {
    uploadLocation: library,
    dbDataLocation: dbDataDir,
  });
  const env = parseDotenv(envText);
  const values = composeInterpolation(env); // .env under the environment compose is given
  const driveServices = composeServices(driveCompose, values);
  const databaseService = serviceOf(driveServices, kit.immich.databaseContainer);
  const serverService =
    driveServices.find((service) => service.containerName === kit.immich.serverContainer)?.name ??
    null;
  assertDatabaseMount(
    driveServices.find((service) => service.name === databaseService) as ComposeService,
    dbDataDir,
  );
  const defined = new Set(env.keys());
  refuseBeyondImmich(driveCompose, values, { ...kit.immich, appDir, library, dbDataDir, defined });
  const project = composeProjectName(driveCompose, env, appDir);
  await refuseExistingContainers(deps.docker, driveServices, project);
  await refuseProjectResources(deps.gateway, project, deps.signal);

  const filesDir = await checkFilesFolder(backupDir);
  const dump = pickDump(await listDumps(backupDir, deps.log));
  const dumpFile = path.join(backupDir, dump.name);
  const { format, uncompressedBytes } = await verifyDump(dumpFile, deps.signal);
  const space = await checkRestoreSpace({
    filesDir,
    library,
    dbDataDir,
    sqlBytes: uncompressedBytes,
  });
  const versions = versionFacts(kit, dump.sidecar);
  guardVersions(versions);

  const images = await plannedImages(deps.docker, kitDir, kit);
  // A loaded image has no registry digest: compose would pull a digest-pinned reference, so the
  // database's and the server's digests are removed from the file the new app dir gets.
  const roleService = { database: databaseService, server: serverService };
  const unpinned = images
    .filter((entry) => entry.source === 'here' || entry.source === 'drive')
    .map((entry) => roleService[entry.role])
    .filter((name): name is string => {
      const service = driveServices.find((candidate) => candidate.name === name);
      return service !== undefined && service.image.includes('@');
    });
  const composeText = withoutDigests(driveCompose, unpinned);
  const services = composeServices(composeText, values);
  const toPull = await imagesToPull(deps.docker, services, images);
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
    unpinned,
    flavour,
    envText,
    env,
    databaseService,
    serverService,
    services,
    images,
    toPull,
    space,
  };
}
