import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { fileProblems, pathProblems } from '../files/root-owned.js';

/** A problem of the configuration, by the path of its key (`drive.uuid`, `drives.1.uuid`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Larger than any configuration: a bigger "config" is not one. */
const maxConfigBytes = 1024 * 1024;

/**
 * The configuration decides what runs as root: it is read only when no one but root can have
 * changed it, before it is even parsed (CONFIG_INSECURE, exit 2, with the command that fixes
 * it). Opened without following a symlink (a link could be turned to a file someone else
 * writes) and without blocking on a FIFO; the opened file itself is checked (a regular file of
 * root's, writable by root alone), and so is every folder above it (root's, writable by root
 * alone: whoever can write a folder on the way can swap what is below it).
 */
export async function readConfigFileSafely(configFile: string): Promise<string> {
  let handle;
  try {
    handle = await open(
      configFile,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw insecure(configFile, ['it is a symlink']);
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
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new AgentError('CONFIG_INVALID', `${configFile} is not a file.`, { step: 'config' });
    }
    const problems = [...fileProblems(configFile, info), ...pathProblems(configFile)];
    if (problems.length > 0) throw insecure(configFile, problems);
    if (info.size > maxConfigBytes) {
      throw new AgentError('CONFIG_INVALID', `${configFile} is larger than 1 MiB.`, {
        step: 'config',
      });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function insecure(configFile: string, problems: string[]): AgentError {
  const inFolders = problems.some((problem) => !problem.startsWith('it '));
  return new AgentError(
    'CONFIG_INSECURE',
    `Refusing ${configFile}: ${problems.join(' and ')}. The agent runs as root, so whoever can change this file could make it run anything.`,
    {
      hint: problems.includes('it is a symlink')
        ? `Put the configuration itself there, owned by root with mode 600 (not a link), or point --config to the real file.`
        : inFolders
          ? `Keep the configuration in a folder only root can write, such as /etc/immich-backup-agent (sudo chown root:root and sudo chmod go-w each folder named), owned by root with mode 600.`
          : `Fix it with: sudo chown root:root '${configFile}' && sudo chmod 600 '${configFile}'`,
      step: 'config',
    },
  );
}

/**
 * The state folder holds what makes root act (the note of a stopped server, of a mounted
 * drive, the records the policy reads): a stateDir that someone else made or can write, or one
 * under a folder they can write, would let them forge those notes. Refused (CONFIG_INSECURE,
 * exit 2); one that does not exist yet is made by the run, which checks it again then.
 */
export function assertStateDirSafe(stateDir: string, configFile: string): void {
  const problems = stateDirProblems(stateDir);
  if (problems.length === 0) return;
  throw new AgentError(
    'CONFIG_INSECURE',
    `Refusing the state folder ${stateDir} (stateDir in ${configFile}): ${problems.join('; ')}. Whoever can write there could make the agent, running as root, act on notes it did not write.`,
    {
      hint: `Use a folder only root can write, owned by root (the default /var/lib/immich-backup-agent), or fix it with: sudo chown root:root '${stateDir}' && sudo chmod 700 '${stateDir}'`,
      step: 'config',
    },
  );
}

/** Why stateDir (and the folders above it) cannot be trusted; [] when it can, or is not there. */
export function stateDirProblems(stateDir: string): string[] {
  // The folders above stateDir, as for a file in it; stateDir itself as the folder that holds.
  return pathProblems(path.join(stateDir, 'run.lock'));
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
