import { stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';

/** A problem of the configuration, by the path of its key (`drive.uuid`, `drives.1.uuid`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The configuration decides what runs as root: a file others could change is refused before it
 * is even parsed (CONFIG_INSECURE, exit 2), with the command that fixes it.
 */
export async function assertConfigFileSafe(configFile: string): Promise<void> {
  let info;
  try {
    info = await stat(configFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AgentError(
      'CONFIG_INVALID',
      code === 'ENOENT'
        ? `No configuration file at ${configFile}.`
        : `The configuration file ${configFile} cannot be read (${(error as Error).message}).`,
      {
        hint: 'Write one (see docs/configuration.md or man immich-backup-agent), or point to it with --config or IMMICH_BACKUP_AGENT_CONFIG.',
        step: 'config',
        cause: error,
      },
    );
  }
  if (!info.isFile()) {
    throw new AgentError('CONFIG_INVALID', `${configFile} is not a file.`, { step: 'config' });
  }
  const problems: string[] = [];
  if (info.uid !== 0) problems.push(`it is owned by uid ${info.uid}, not root`);
  const writers = [info.mode & 0o020 ? 'its group' : '', info.mode & 0o002 ? 'others' : '']
    .filter(Boolean)
    .join(' and ');
  if (writers)
    problems.push(`it is writable by ${writers} (mode ${(info.mode & 0o777).toString(8)})`);
  if (problems.length > 0) {
    throw new AgentError(
      'CONFIG_INSECURE',
      `Refusing ${configFile}: ${problems.join(' and ')}. The agent runs as root, so whoever can change this file could make it run anything.`,
      {
        hint: `Fix it with: sudo chown root:root '${configFile}' && sudo chmod 600 '${configFile}'`,
        step: 'config',
      },
    );
  }
}

export function issuePath(segments: readonly PropertyKey[], keys?: readonly string[]): string {
  const base = segments.map(String).join('.');
  if (keys && keys.length > 0) return keys.map((key) => (base ? `${base}.${key}` : key)).join(', ');
  return base || '(root)';
}

/** Every problem at once, each by its key path (CONFIG_INVALID, exit 2). */
export function invalid(configFile: string, issues: ConfigIssue[]): AgentError {
  const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`);
  return new AgentError(
    'CONFIG_INVALID',
    `${configFile} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    { hint: 'Fix the keys named above and run again.', step: 'config', details: { issues } },
  );
}
