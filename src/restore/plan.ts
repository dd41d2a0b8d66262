import { stat } from 'node:fs/promises';
import path from 'node:path';
import { verifyDump, type DumpFormat } from '../adapters/database-dump.js';
import { postgresServerVersion } from '../adapters/database-info.js';
import { readMountinfo } from '../adapters/mountinfo.js';
import { syncLibrary } from '../adapters/rsync.js';
import { listDumps, pickDump, type DumpEntry } from '../drive-content/dumps.js';
import { immichMajor, immichServerTag } from '../drive-content/sidecar.js';
import type { DriveSession } from '../session/drive-session.js';
import { checkLibraryPlace, libraryOwner } from './library-folder.js';

export interface RestoreOptions {
  date?: string;
  databaseOnly: boolean;
  filesOnly: boolean;
}

export interface RestorePlan {
  /** null only for --files-only when the drive has no usable dump. */
  dump: DumpEntry | null;
  format: DumpFormat | null;
  backup: { immich: string | null; postgres: string | null };
  running: { immich: string | null; postgres: string | null };
  /** Both majors known and different: refused unless --force. */
  majorMismatch: { backup: number; running: number } | null;
  database: boolean;
  files: boolean;
  filesToCopy: { files: number; bytes: number } | null;
  replacedFilesDir: string;
  /** Where the files go: the library folder as configured and as it really is, its owner. */
  library: { configured: string; realPath: string; owner: { uid: number; gid: number } | null };
}

/** Folders of the agent's own a library may never be in (its state, its log). */
export function agentFolders(config: DriveSession['config']): string[] {
  return [config.stateDir, path.dirname(config.log.file)];
}

/** A first copy back of a large library over USB 2 can take a day; a hung copy is still caught. */
export const syncTimeoutMs = 72 * 60 * 60 * 1000;

/** Reads what a restore would do, changing nothing: which dump, versions, what is copied where. */
export async function planRestore(
  session: DriveSession,
  options: RestoreOptions,
): Promise<RestorePlan> {
  const { config, deps, target } = session;
  // Before anything else: a library in a system folder (UPLOAD_LOCATION is a user's to set) is
  // refused, plan or not.
  const realLibrary = await checkLibraryPlace(config.immich.libraryDir, agentFolders(config));
  // The files alone need no dump: a missing or damaged one must not keep the photos back.
  const usable = async (): Promise<{ dump: DumpEntry; format: DumpFormat }> => {
    const dump = pickDump(await listDumps(target.backupDir, session.logger), options.date);
    const { format } = await verifyDump(path.join(target.backupDir, dump.name), deps.signal);
    return { dump, format };
  };
  const { dump, format } = options.filesOnly
    ? await usable().catch(() => ({ dump: null, format: null }))
    : await usable();
  const server = await deps.docker.inspect(config.immich.serverContainer);
  const runningImmich = immichServerTag(server?.image ?? null) ?? config.immich.immichVersion;
  const backupImmich =
    dump?.sidecar?.immich.serverImageTag ?? dump?.sidecar?.immich.envVersion ?? null;
  const runningMajor = immichMajor(runningImmich);
  const backupMajor = immichMajor(backupImmich);
  const database = !options.filesOnly;
  const files = !options.databaseOnly;
  let filesToCopy: RestorePlan['filesToCopy'] = null;
  if (files) {
    const measured = await syncLibrary(
      deps.gateway,
      {
        source: target.filesDir,
        ...(await restoreTarget(realLibrary, target.filesystemType)),
        timeoutMs: syncTimeoutMs,
        signal: deps.signal,
      },
      true,
    );
    filesToCopy = { files: measured.transferredFiles, bytes: measured.transferredBytes };
  }
  return {
    dump,
    format,
    backup: { immich: backupImmich, postgres: dump?.sidecar?.postgres.serverVersion ?? null },
    running: {
      immich: runningImmich,
      postgres: await postgresServerVersion(
        deps.docker,
        config.immich.databaseContainer,
        config.immich.databaseUser,
        config.immich.databaseName,
        config.secrets.databasePassword,
      ),
    },
    majorMismatch:
      runningMajor !== null && backupMajor !== null && runningMajor !== backupMajor
        ? { backup: backupMajor, running: runningMajor }
        : null,
    database,
    files,
    filesToCopy,
    replacedFilesDir: path.join(realLibrary, `.immich-backup-agent-replaced-${session.runId}`),
    library: {
      configured: config.immich.libraryDir,
      realPath: realLibrary,
      owner: await libraryOwner(realLibrary),
    },
  };
}

/**
 * Where the files go back and how (`libraryDir` the real path; execute.ts gives rsync the folder
 * it holds open instead): the library's filesystem, the drive's (a drive without
 * permissions has only made-up owners and modes), and the library folder's owner, whom the
 * restored files then belong to.
 */
export async function restoreTarget(
  libraryDir: string,
  driveFilesystemType: string,
): Promise<{
  destination: string;
  filesystemType: string;
  sourceFilesystemType: string;
  owner?: { uid: number; gid: number };
}> {
  const library =
    (await stat(libraryDir).catch(() => null)) ??
    (await stat(path.dirname(libraryDir)).catch(() => null));
  return {
    destination: libraryDir,
    filesystemType: await filesystemTypeOf(libraryDir),
    sourceFilesystemType: driveFilesystemType,
    ...(library ? { owner: { uid: library.uid, gid: library.gid } } : {}),
  };
}

/** The filesystem type of the mount a folder is on (rsync keeps owners only where it can). */
async function filesystemTypeOf(folder: string): Promise<string> {
  const mounts = await readMountinfo();
  const containing = mounts.filter(
    (entry) =>
      folder === entry.mountPoint ||
      folder.startsWith(entry.mountPoint.endsWith('/') ? entry.mountPoint : `${entry.mountPoint}/`),
  );
  return containing.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0]?.fsType ?? 'ext4';
}
