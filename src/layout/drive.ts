import path from 'node:path';

/**
 * What a run leaves on the drive, under `<drive root>/<drive.backupDir>/` (CONTRACT.md): the one
 * place that knows the names. The seed's layout, so backups already on a drive stay valid.
 */
export interface BackupLayout {
  /** `<drive root>/<drive.backupDir>`. */
  backupDir: string;
  /** The library's mirror. */
  filesDir: string;
  /** Previous copies of replaced files, `versions/YYYY-MM-DD[Thh-mm-ss]/…`. */
  versionsDir: string;
  /** The drive's own run history (`runs/` inside, like the state folder's). */
  historyDir: string;
}

export const filesFolder = 'files';
export const versionsFolder = 'versions';
export const historyFolder = '.immich-backup-agent';

/**
 * The restore kit, `<backupDir>/restore-kit/`: what a new machine needs besides the backup
 * (RESTORE.md, restore-kit.json, the agent as one file, and optionally the images).
 */
export const restoreKitFolder = 'restore-kit';
export const restoreKitFiles = {
  guide: 'RESTORE.md',
  manifest: 'restore-kit.json',
  agent: 'immich-backup-agent.mjs',
  /** Saved images, `images/<hex of the image id>.tar.gz`: one file per image id, never two. */
  images: 'images',
} as const;

/**
 * The token this agent wrote on the drive when it adopted it, in the drive's history folder. Its
 * name carries the id of the agent's key, so two agents (two machines, a fresh state folder)
 * sharing a drive keep a token each instead of overwriting each other's.
 */
export function driveTokenFile(keyId: string): string {
  return path.join(historyFolder, `drive-token-${keyId}`);
}

export function backupLayout(backupDir: string): BackupLayout {
  return {
    backupDir,
    filesDir: path.join(backupDir, filesFolder),
    versionsDir: path.join(backupDir, versionsFolder),
    historyDir: path.join(backupDir, historyFolder),
  };
}

const dumpPattern = /^immich-db-(\d{4}-\d{2}-\d{2})(?:T\d{2}-\d{2}-\d{2}(?:-\d{1,4})?)?\.sql\.gz$/;

/**
 * `immich-db-YYYY-MM-DD.sql.gz`, the local date of the run (the seed's name); with `localTime`
 * (`hh-mm-ss`, and a counter after it if need be) when that day's dump must not be replaced:
 * `immich-db-YYYY-MM-DDThh-mm-ss[-n].sql.gz`, like a versions folder.
 */
export function dumpFileName(localDate: string, localTime?: string): string {
  return `immich-db-${localDate}${localTime ? `T${localTime}` : ''}.sql.gz`;
}

/** The date of a dump's name, or null when the name is not a dump's. */
export function dumpDate(name: string): string | null {
  return dumpPattern.exec(name)?.[1] ?? null;
}

/** `immich-db-YYYY-MM-DD.json`, the sidecar beside a dump. */
export function sidecarFileName(dumpName: string): string {
  return dumpName.replace(/\.sql\.gz$/, '.json');
}

/** A dump's temporary name while it is written (a run that died leaves one behind). */
export function isPartialDump(name: string): boolean {
  return /^\.immich-db-.*\.partial-/.test(name);
}

/**
 * `versions/<day>`, or with the time when a run of the same day made that folder already
 * (`<day>T<hh-mm-ss>`, then `-2`, `-3`… after it when even that exists: a clock set back).
 */
export function versionsFolderName(localDate: string, localTime?: string): string {
  return path.join(versionsFolder, localTime ? `${localDate}T${localTime}` : localDate);
}
