import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../adapters/atomic-files.js';
import { readImmichInstall } from '../config/immich-discovery.js';
import { loadConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import {
  daemonUnitName,
  hotplugUnitName,
  renderUdevRule,
  renderUnit,
  ruleFileName,
} from './templates.js';

export interface InstallOptions {
  /** Everything is written under this folder (default /); tests use their own. */
  root: string;
  appDir?: string;
  uuids: string[];
  mountPoint?: string;
  nodePath: string;
  agentPath: string;
}

export interface InstallReport {
  written: string[];
  unchanged: string[];
  config: { file: string; written: boolean; found: string[]; check: string[] };
}

/** What install wrote, so uninstall removes exactly that. */
interface Manifest {
  files: string[];
  directories: string[];
}

const configRelative = 'etc/immich-backup-agent/config.yml';
const manifestRelative = 'var/lib/immich-backup-agent/install-manifest.json';
/** Folders the units already make writable (see the units' ReadWritePaths and LogsDirectory). */
const writableByDefault = [
  '/media',
  '/mnt',
  '/run/media',
  '/var/log/immich-backup-agent',
  '/var/lib/immich-backup-agent',
];

export function installedPaths(root: string): {
  config: string;
  manifest: string;
  rule: string;
  hotplug: string;
  daemon: string;
} {
  return {
    config: path.join(root, configRelative),
    manifest: path.join(root, manifestRelative),
    rule: path.join(root, 'etc/udev/rules.d', ruleFileName),
    hotplug: path.join(root, 'etc/systemd/system', hotplugUnitName),
    daemon: path.join(root, 'etc/systemd/system', daemonUnitName),
  };
}

/**
 * Writes the udev rule (one line per drive UUID), the systemd units (with this installation's
 * real node and agent paths) and, when there is none, a starting configuration discovered from
 * Immich's compose file and .env. Never overwrites a configuration; a file whose content is
 * already right is not touched, so a second install changes nothing.
 */
export async function install(options: InstallOptions): Promise<InstallReport> {
  const paths = installedPaths(options.root);
  const manifest = await readManifest(paths.manifest);
  const created = new Set(manifest.directories);
  const config = await ensureConfig(options, paths.config, created);
  const agentConfig = await loadConfig(paths.config);
  const extraWritable = [
    ...new Set([
      ...agentConfig.drives.map((drive) => path.dirname(drive.mountPoint)),
      path.dirname(agentConfig.log.file),
    ]),
  ].filter(
    (folder) => !writableByDefault.some((base) => folder === base || folder.startsWith(`${base}/`)),
  );
  const files: [string, string][] = [
    [paths.rule, await renderUdevRule(agentConfig.drives.map((drive) => drive.uuid))],
    [
      paths.hotplug,
      await renderUnit(hotplugUnitName, {
        nodePath: options.nodePath,
        agentPath: options.agentPath,
        extraWritable,
      }),
    ],
    [
      paths.daemon,
      await renderUnit(daemonUnitName, {
        nodePath: options.nodePath,
        agentPath: options.agentPath,
        extraWritable,
      }),
    ],
  ];
  const report: InstallReport = { written: [], unchanged: [], config };
  for (const [file, content] of files) {
    if ((await readFile(file, 'utf8').catch(() => null)) === content) {
      report.unchanged.push(file);
      continue;
    }
    await makeDirectories(path.dirname(file), created);
    await writeFileAtomic(file, content, 0o644);
    report.written.push(file);
  }
  await makeDirectories(path.dirname(paths.manifest), created);
  const next: Manifest = { files: files.map(([file]) => file), directories: [...created] };
  if (JSON.stringify(next) !== JSON.stringify(manifest))
    await writeFileAtomic(paths.manifest, JSON.stringify(next, null, 2) + '\n', 0o644);
  return report;
}

/** Removes what install wrote (rule, units, the folders it made for them); keeps config, state and backups. */
export async function uninstall(root: string): Promise<string[]> {
  const paths = installedPaths(root);
  const manifest = await readManifest(paths.manifest);
  const removed: string[] = [];
  for (const file of manifest.files) {
    if (existsSync(file)) {
      await rm(file, { force: true });
      removed.push(file);
    }
  }
  await rm(paths.manifest, { force: true });
  const kept = [path.dirname(paths.config), path.dirname(paths.manifest)];
  // Deepest first; a folder that holds anything else (or the config and state) stays.
  for (const folder of [...manifest.directories].sort((a, b) => b.length - a.length)) {
    if (kept.some((keep) => keep === folder || keep.startsWith(`${folder}/`))) continue;
    await rmdir(folder).catch(() => undefined);
  }
  return removed;
}

async function ensureConfig(
  options: InstallOptions,
  file: string,
  created: Set<string>,
): Promise<InstallReport['config']> {
  if (existsSync(file)) {
    return {
      file,
      written: false,
      found: [`an existing configuration, kept as it is`],
      check:
        options.uuids.length > 0
          ? ['--uuid was ignored: the existing configuration decides the drives']
          : [],
    };
  }
  if (options.uuids.length === 0) {
    throw new AgentError(
      'CONFIG_INVALID',
      'There is no configuration yet, and no --uuid to write one with.',
      {
        hint: 'Give the backup drive with --uuid (sudo blkid shows the UUID of each filesystem).',
      },
    );
  }
  const appDir = path.resolve(options.appDir ?? '/opt/immich-app');
  const immich = await readImmichInstall(appDir);
  const found = [
    `Immich in ${appDir}: ${immich.composeFile ? path.basename(immich.composeFile) : 'NO compose file'}, ${immich.envFile ? '.env' : 'NO .env'}`,
    `library: ${immich.env.get('UPLOAD_LOCATION') ? path.resolve(appDir, immich.env.get('UPLOAD_LOCATION') as string) : 'unknown (no UPLOAD_LOCATION)'}`,
    `containers: ${immich.serverContainer ?? 'immich_server'} and ${immich.databaseContainer ?? 'immich_postgres'}`,
    `database: ${immich.env.get('DB_DATABASE_NAME') || 'immich'} as ${immich.env.get('DB_USERNAME') || 'postgres'}`,
  ];
  const check = [
    ...immich.problems,
    'drive.mountPoint: where the drive is mounted when nothing else has mounted it',
    'power.users: whose desktop session keeps the machine on after the Sunday backup ([] = anyone)',
  ];
  const drives = options.uuids.map((uuid, index) => ({
    uuid,
    ...(options.uuids.length > 1 ? { label: `drive-${index + 1}` } : {}),
  }));
  const document = {
    immich: { appDir },
    ...(drives.length === 1
      ? { drive: { uuid: drives[0]?.uuid, mountPoint: options.mountPoint ?? '/mnt/immich-backup' } }
      : { drive: { mountPoint: options.mountPoint ?? '/mnt/immich-backup' }, drives }),
  };
  const header = [
    `# Written by \`immich-backup-agent install\` on ${new Date().toISOString().slice(0, 10)}.`,
    '# The library, containers and database are read from Immich’s compose file and .env at every',
    '# run; set them here only to override. Every key is explained in the README and',
    '# config.example.yml. Check it with: sudo immich-backup-agent config validate',
    '',
  ].join('\n');
  const existedBefore = new Set(created);
  await makeDirectories(path.dirname(file), created);
  // Loaded before it takes its place: a configuration the agent cannot use (no .env in
  // --app-dir, a malformed --uuid) is never left behind for the next install to keep.
  const candidate = `${file}.new`;
  await writeFile(candidate, header + stringify(document), { mode: 0o600 });
  try {
    await loadConfig(candidate);
  } catch (error) {
    await rm(candidate, { force: true });
    for (const folder of [...created].filter((made) => !existedBefore.has(made)).reverse()) {
      await rmdir(folder).catch(() => undefined);
      created.delete(folder);
    }
    if (error instanceof AgentError) {
      throw new AgentError(error.code, `Did not install: ${error.message}`, {
        hint: `Nothing was written. Found: ${found.join('; ')}. Point --app-dir at the folder with Immich's docker-compose.yml and .env, or check --uuid.`,
        details: error.details,
        cause: error,
      });
    }
    throw error;
  }
  await rename(candidate, file);
  return { file, written: true, found, check };
}

async function readManifest(file: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch {
    return { files: [], directories: [] };
  }
}

/** mkdir -p that remembers which folders it made, for uninstall to remove them again. */
async function makeDirectories(folder: string, created: Set<string>): Promise<void> {
  const missing: string[] = [];
  let current = folder;
  while (!existsSync(current)) {
    missing.unshift(current);
    current = path.dirname(current);
  }
  for (const directory of missing) {
    await mkdir(directory, { mode: 0o755 });
    created.add(directory);
  }
}

/** The node binary and the agent's entry point as they really are (no symlinks, no PATH). */
export async function currentCommand(): Promise<{ nodePath: string; agentPath: string }> {
  return {
    nodePath: await realpath(process.execPath),
    agentPath: await realpath(process.argv[1] as string),
  };
}
