import { existsSync } from 'node:fs';
import { readFile, realpath, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import { loadConfig } from '../config/load.js';
import { makeDirectories } from './directories.js';
import { isPackaged, packagedFiles } from './packaged.js';
import { ensureConfig, type StartingConfigReport } from './starting-config.js';
import {
  daemonUnitName,
  hotplugUnitName,
  manPageName,
  readManPage,
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
  /** What an earlier install wrote that is not wanted now (its copies, on a packaged system). */
  removed: string[];
  /** The Debian package's rule and units are there: no copy of them was written. */
  packaged: boolean;
  config: StartingConfigReport;
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
  manPage: string;
} {
  return {
    config: path.join(root, configRelative),
    manifest: path.join(root, manifestRelative),
    rule: path.join(root, 'etc/udev/rules.d', ruleFileName),
    hotplug: path.join(root, 'etc/systemd/system', hotplugUnitName),
    daemon: path.join(root, 'etc/systemd/system', daemonUnitName),
    // Where man(1) looks for what the local administrator installed: `man immich-backup-agent`.
    manPage: path.join(root, 'usr/local/share/man/man8', manPageName),
  };
}

/**
 * Writes the udev rule (one line per drive UUID), the systemd units (with this installation's
 * real node and agent paths), the man page and, when there is none, a starting configuration
 * discovered from Immich's compose file and .env. Never overwrites a configuration; a file whose
 * content is already right is not touched, so a second install changes nothing.
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
  const packaged = isPackaged(options.root);
  const files = packaged
    ? packagedFiles(options.root, {
        uuids: agentConfig.drives.map((drive) => drive.uuid),
        allowLoopDevices: agentConfig.drive.allowLoopDevices,
        extraWritable,
      })
    : await ownFiles(paths, options, agentConfig, extraWritable);
  const report: InstallReport = { written: [], unchanged: [], removed: [], packaged, config };
  for (const [file, content] of files) {
    if ((await readFile(file, 'utf8').catch(() => null)) === content) {
      report.unchanged.push(file);
      continue;
    }
    await makeDirectories(path.dirname(file), created);
    await writeFileAtomic(file, content, 0o644);
    report.written.push(file);
  }
  // What the last install wrote and this one does not: the rule and units it had copied, once the
  // package's are there; the file of a drive no longer configured.
  const wanted = new Set(files.map(([file]) => file));
  for (const file of manifest.files.filter((old) => !wanted.has(old) && existsSync(old))) {
    await rm(file, { force: true });
    report.removed.push(file);
  }
  await makeDirectories(path.dirname(paths.manifest), created);
  const next: Manifest = { files: files.map(([file]) => file), directories: [...created] };
  if (JSON.stringify(next) !== JSON.stringify(manifest))
    await writeFileAtomic(paths.manifest, JSON.stringify(next, null, 2) + '\n', 0o644);
  return report;
}

/**
 * Removes what install wrote (rule, units, man page, the folders it made for them); keeps config,
 * state and backups.
 */
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

/** The rule, units and man page as install writes them when no package has installed them. */
async function ownFiles(
  paths: ReturnType<typeof installedPaths>,
  options: InstallOptions,
  agentConfig: Awaited<ReturnType<typeof loadConfig>>,
  extraWritable: string[],
): Promise<[string, string][]> {
  const command = { nodePath: options.nodePath, agentPath: options.agentPath, extraWritable };
  return [
    [
      paths.rule,
      await renderUdevRule(
        agentConfig.drives.map((drive) => drive.uuid),
        { allowLoopDevices: agentConfig.drive.allowLoopDevices },
      ),
    ],
    [paths.hotplug, await renderUnit(hotplugUnitName, command)],
    [paths.daemon, await renderUnit(daemonUnitName, command)],
    [paths.manPage, await readManPage()],
  ];
}

async function readManifest(file: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch {
    return { files: [], directories: [] };
  }
}

/** The node binary and the agent's entry point as they really are (no symlinks, no PATH). */
export async function currentCommand(): Promise<{ nodePath: string; agentPath: string }> {
  return {
    nodePath: await realpath(process.execPath),
    agentPath: await realpath(process.argv[1] as string),
  };
}
