import { AgentError } from '../errors.js';
import { readPackageFile } from '../package-files.js';

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
  const shipped = await readPackageFile(`udev/${ruleFileName}`);
  const lines = shipped.split('\n');
  const ruleIndex = lines.findIndex((line) => line.startsWith('ACTION=='));
  const shippedRule = lines[ruleIndex] as string;
  const rule = options.allowLoopDevices
    ? shippedRule.replace('KERNEL!="loop*", ', '')
    : shippedRule;
  lines.splice(ruleIndex, 1, ...uuids.map((uuid) => rule.replace(seedUuid, uuid)));
  return lines.join('\n');
}

/**
 * One word of a unit file setting, as systemd will read it back: `%` doubled everywhere (a
 * specifier otherwise: `%h` would become root's home), `$` doubled in a command's arguments
 * (an environment variable otherwise), and the word in double quotes, with `"` and `\` escaped,
 * when it holds anything but plain path characters (a space would split it). A control
 * character cannot be written into a unit line safely (a newline would start a directive of its
 * own): such a path is refused.
 */
export function unitWord(word: string, where: 'executable' | 'argument' | 'path'): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(word)) {
    throw new AgentError(
      'CONFIG_INVALID',
      `${JSON.stringify(word)} has a control character (a newline, a tab), which cannot be written into a systemd unit.`,
      { step: 'install', hint: 'Rename the folder or file, then install again.' },
    );
  }
  let text = word.replaceAll('%', '%%');
  // systemd substitutes variables in a command's arguments, not in its executable (proven under
  // systemd 252: "$$" there stays "$$").
  if (where === 'argument') text = text.replaceAll('$', '$$$$');
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * A shipped unit with the real command of this installation (`/usr/bin/node …/main.js`, so it
 * does not depend on PATH or a symlink) and write access to folders outside the defaults.
 */
export async function renderUnit(
  name: string,
  options: { nodePath: string; agentPath: string; extraWritable: readonly string[] },
): Promise<string> {
  const shipped = await readPackageFile(`systemd/${name}`);
  // A single executable (the Debian package's) is Node and the agent in one: no script argument.
  const command =
    options.agentPath === options.nodePath
      ? unitWord(options.nodePath, 'executable')
      : `${unitWord(options.nodePath, 'executable')} ${unitWord(options.agentPath, 'argument')}`;
  // A function, not the string: "$$" in a replacement string would come out as "$".
  let text = shipped.replaceAll(shippedAgentPath, () => command);
  if (options.extraWritable.length > 0) {
    text = text.replace(
      /^ReadWritePaths=.*$/m,
      (line) =>
        `${line}\n# Written by install: folders of this configuration outside the defaults above.\nReadWritePaths=${options.extraWritable.map((folder) => unitWord(`-${folder}`, 'path')).join(' ')}`,
    );
  }
  return text;
}

/** The man page as shipped in man/ (`npm run docs` generates it from the command definitions). */
export async function readManPage(): Promise<string> {
  return readPackageFile(`man/${manPageName}`);
}
