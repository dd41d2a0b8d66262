import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: the shipped udev/, systemd/ and man/ folders are there. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const ruleFileName = '90-immich-backup-agent.rules';
export const hotplugUnitName = 'immich-backup-agent-hotplug@.service';
export const daemonUnitName = 'immich-backup-agent.service';
export const manPageName = 'immich-backup-agent.8';
const shippedAgentPath = '/usr/local/bin/immich-backup-agent';
const seedUuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';

/**
 * The shipped rule with its one rule line repeated for each drive's UUID; without its
 * `KERNEL!="loop*"` key when the configuration allows loop devices (drive.allowLoopDevices).
 */
export async function renderUdevRule(
  uuids: readonly string[],
  options: { allowLoopDevices: boolean } = { allowLoopDevices: false },
): Promise<string> {
  const shipped = await readFile(path.join(packageRoot, 'udev', ruleFileName), 'utf8');
  const lines = shipped.split('\n');
  const ruleIndex = lines.findIndex((line) => line.startsWith('ACTION=='));
  const shippedRule = lines[ruleIndex] as string;
  const rule = options.allowLoopDevices
    ? shippedRule.replace('KERNEL!="loop*", ', '')
    : shippedRule;
  lines.splice(ruleIndex, 1, ...uuids.map((uuid) => rule.replace(seedUuid, uuid)));
  return lines.join('\n');
}

/** systemd's quoting for one word of a command line. */
function systemdWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * A shipped unit with the real command of this installation (`/usr/bin/node …/main.js`, so it
 * does not depend on PATH or a symlink) and write access to folders outside the defaults.
 */
export async function renderUnit(
  name: string,
  options: { nodePath: string; agentPath: string; extraWritable: readonly string[] },
): Promise<string> {
  const shipped = await readFile(path.join(packageRoot, 'systemd', name), 'utf8');
  const command = `${systemdWord(options.nodePath)} ${systemdWord(options.agentPath)}`;
  let text = shipped.replaceAll(shippedAgentPath, command);
  if (options.extraWritable.length > 0) {
    text = text.replace(
      /^ReadWritePaths=.*$/m,
      (line) =>
        `${line}\n# Written by install: folders of this configuration outside the defaults above.\nReadWritePaths=${options.extraWritable.map((folder) => systemdWord(`-${folder}`)).join(' ')}`,
    );
  }
  return text;
}

/** The man page as shipped in man/ (`npm run docs` generates it from the command definitions). */
export async function readManPage(): Promise<string> {
  return readFile(path.join(packageRoot, 'man', manPageName), 'utf8');
}
