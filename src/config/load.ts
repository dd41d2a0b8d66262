import path from 'node:path';
import { isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { readImmichInstall, type ImmichInstall } from './immich-discovery.js';
import {
  assertStateDirSafe,
  invalid,
  readConfigFileSafely,
  issuePath,
  type ConfigIssue,
} from './config-file.js';
import {
  immichValueIssues,
  refuseUntrustedImmichFiles,
  type ImmichValues,
} from './immich-values.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { defaultAppDir } from './schema-fields.js';

export type { ConfigIssue } from './config-file.js';

export const defaultConfigFile = '/etc/immich-backup-agent/config.yml';

export interface ResolvedImmich {
  appDir: string;
  libraryDir: string;
  serverContainer: string;
  databaseContainer: string;
  databaseUser: string;
  databaseName: string;
  stopTimeoutSeconds: number;
  stopServer: 'during-backup' | 'during-dump' | 'never';
  /** The compose file and `.env` found in appDir (null when missing); both are backed up. */
  composeFile: string | null;
  envFile: string | null;
  /** IMMICH_VERSION from .env (v2.5.2, v2, release), or null. */
  immichVersion: string | null;
  /**
   * Where the server container sees the library (UPLOAD_LOCATION's volume target in the compose
   * file, else `/data` and `/usr/src/app/upload`): the start of the paths Immich stores.
   */
  uploadMounts: string[];
}

/** One backup drive with every setting resolved (from `drive`, or a `drives` entry over it). */
export interface ResolvedDrive {
  uuid: string;
  label: string;
  mountPoint: string;
  backupDir: string;
  powerOffAfter: boolean;
}

export interface AgentConfig extends Omit<ParsedConfig, 'immich'> {
  immich: ResolvedImmich;
  /** The backup drives, at least one. */
  drives: ResolvedDrive[];
  configFile: string;
  /** Values that must never reach a log, a record or a terminal. */
  secrets: { databasePassword: string | undefined; all: string[] };
}

/** `--config`, else `$IMMICH_BACKUP_AGENT_CONFIG`, else the default path. */
export function resolveConfigFile(flag: string | undefined, env = process.env): string {
  return path.resolve(flag ?? env.IMMICH_BACKUP_AGENT_CONFIG ?? defaultConfigFile);
}

/**
 * Reads, checks and resolves the configuration. Every problem is collected and reported at once
 * with its key path (CONFIG_INVALID, exit 2); a file others could change is refused before it is
 * even parsed (CONFIG_INSECURE, exit 2), because it decides what runs as root.
 */
export async function loadConfig(configFile: string): Promise<AgentConfig> {
  const text = await readConfigFileSafely(configFile);
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw invalid(
      configFile,
      document.errors.map((error) => ({
        path: '(yaml)',
        message: error.message.split('\n')[0] ?? '',
      })),
    );
  }
  keepUuidsAsWritten(document);
  const raw: unknown = document.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(configFile, [{ path: '(root)', message: 'must be a YAML mapping of keys' }]);
  }
  const parsed = configSchema.safeParse(raw);
  const driveIssues = checkDrives(raw);
  if (!parsed.success || driveIssues.length > 0) {
    // Every problem at once: what discovery would find missing is named too.
    const immich = (raw as { immich?: Record<string, unknown> }).immich;
    const appDir = typeof immich?.appDir === 'string' ? immich.appDir : defaultAppDir;
    const discovery =
      immich?.libraryDir === undefined ? libraryDirIssues(await readImmichInstall(appDir)) : [];
    throw invalid(configFile, [
      ...(parsed.error?.issues ?? []).map((issue) => ({
        path: issuePath(issue.path, issue.code === 'unrecognized_keys' ? issue.keys : undefined),
        message:
          issue.code === 'unrecognized_keys'
            ? 'is not a known key (misspelt?)'
            : issue.message.replace(/^Invalid input: /, ''),
      })),
      ...driveIssues,
      ...discovery,
    ]);
  }
  assertStateDirSafe(parsed.data.stateDir, configFile);
  const install = await readImmichInstall(parsed.data.immich.appDir);
  refuseUntrustedImmichFiles(install);
  return resolve(configFile, parsed.data, install);
}

/**
 * A filesystem UUID is text, whatever it looks like: an NTFS serial of only digits written
 * unquoted (`uuid: 0123456789012345`) is a number to YAML, which would drop the leading zero or
 * round it. The drive's UUIDs are taken as they were written.
 */
function keepUuidsAsWritten(document: Document): void {
  const keep = (path: (string | number)[]): void => {
    const node = document.getIn(path, true);
    if (isScalar(node) && typeof node.value === 'number' && typeof node.source === 'string')
      document.setIn(path, node.source);
  };
  keep(['drive', 'uuid']);
  const drives = document.get('drives', true);
  if (isSeq(drives)) drives.items.forEach((_, index) => keep(['drives', index, 'uuid']));
}

/** immich.libraryDir unset: UPLOAD_LOCATION from appDir/.env must be readable. */
function libraryDirIssues(install: ImmichInstall): ConfigIssue[] {
  const upload = install.env.get('UPLOAD_LOCATION');
  if (upload !== undefined && upload !== '') return [];
  return [
    {
      path: 'immich.libraryDir',
      message: `is not set and UPLOAD_LOCATION could not be read from ${install.appDir}/.env (${
        install.envFile === null
          ? (install.refused[0] ?? install.problems[0])
          : 'the key is missing'
      }); set immich.libraryDir or immich.appDir`,
    },
  ];
}

function resolve(configFile: string, config: ParsedConfig, install: ImmichInstall): AgentConfig {
  const issues: ConfigIssue[] = [];
  const env = install.env;
  let libraryDir = config.immich.libraryDir;
  const fromUploadLocation = libraryDir === undefined;
  if (libraryDir === undefined) {
    issues.push(...libraryDirIssues(install));
    const upload = env.get('UPLOAD_LOCATION');
    if (upload) libraryDir = path.resolve(install.appDir, upload);
  }
  // Immich's own names are the fallback when no compose file can be read.
  const immich = config.immich;
  const values: ImmichValues = {
    serverContainer: pick(immich.serverContainer, install.serverContainer ?? 'immich_server'),
    databaseContainer: pick(
      immich.databaseContainer,
      install.databaseContainer ?? 'immich_postgres',
    ),
    databaseUser: pick(immich.databaseUser, env.get('DB_USERNAME') || 'postgres'),
    databaseName: pick(immich.databaseName, env.get('DB_DATABASE_NAME') || 'immich'),
    uploadLocation: fromUploadLocation ? env.get('UPLOAD_LOCATION') || null : null,
  };
  issues.push(...immichValueIssues(install, values));
  const password = env.get('DB_PASSWORD');
  // A webhook's URL may hold its ping key (Healthchecks, ntfy topics): masked like a password.
  const secrets = [password, ...config.notify.webhooks.map((hook) => hook.url)].filter(
    (value): value is string => !!value && value.length >= 3,
  );
  if (issues.length > 0) throw invalid(configFile, issues);
  return {
    ...config,
    drives: resolveDrives(config),
    immich: {
      appDir: config.immich.appDir,
      libraryDir: libraryDir as string,
      serverContainer: values.serverContainer.value,
      databaseContainer: values.databaseContainer.value,
      databaseUser: values.databaseUser.value,
      databaseName: values.databaseName.value,
      stopTimeoutSeconds: config.immich.stopTimeoutSeconds,
      stopServer: config.immich.stopServer,
      composeFile: install.composeFile,
      envFile: install.envFile,
      immichVersion: env.get('IMMICH_VERSION') || null,
      uploadMounts: install.uploadMounts,
    },
    configFile,
    secrets: { databasePassword: password, all: secrets },
  };
}

function pick(configured: string | undefined, discovered: string): ImmichValues['databaseName'] {
  return configured === undefined
    ? { value: discovered, fromConfig: false }
    : { value: configured, fromConfig: true };
}

function resolveDrives(config: ParsedConfig): ResolvedDrive[] {
  const defaults = config.drive;
  const entries = config.drives ?? [{ uuid: defaults.uuid as string }];
  return entries.map((entry) => {
    const short = entry.uuid.replace(/-/g, '').slice(0, 8).toLowerCase();
    return {
      uuid: entry.uuid,
      label: entry.label ?? (entries.length > 1 ? short : 'backup drive'),
      // Two drives may be plugged in at once: each gets its own default mount point.
      mountPoint:
        entry.mountPoint ??
        (entries.length > 1
          ? `${defaults.mountPoint}-${(entry.label ?? short).replace(/[^A-Za-z0-9_.-]+/g, '-')}`
          : defaults.mountPoint),
      backupDir: entry.backupDir ?? defaults.backupDir,
      powerOffAfter: entry.powerOffAfter ?? defaults.powerOffAfter,
    };
  });
}

/** Either drive.uuid or a `drives` list, not both, and every UUID once. */
function checkDrives(raw: { drive?: { uuid?: unknown }; drives?: unknown }): ConfigIssue[] {
  const single = raw.drive?.uuid !== undefined && raw.drive?.uuid !== null;
  const list = Array.isArray(raw.drives) ? (raw.drives as { uuid?: unknown }[]) : null;
  if (!single && list === null) {
    return [
      {
        path: 'drive.uuid',
        message: 'is required: the filesystem UUID of the backup drive (see `blkid`)',
      },
    ];
  }
  if (single && list !== null) {
    return [{ path: 'drive.uuid', message: 'set either drive.uuid or a drives list, not both' }];
  }
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  (list ?? []).forEach((entry, index) => {
    const uuid = typeof entry?.uuid === 'string' ? entry.uuid.toLowerCase() : null;
    if (uuid && seen.has(uuid))
      issues.push({ path: `drives.${index}.uuid`, message: 'appears twice' });
    if (uuid) seen.add(uuid);
  });
  return issues;
}
