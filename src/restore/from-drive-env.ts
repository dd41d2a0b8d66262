import os from 'node:os';
import { AgentError } from '../errors.js';
import { referenceProblems } from './from-drive-compose-rules.js';

const rewritten = ['UPLOAD_LOCATION', 'DB_DATA_LOCATION'] as const;
const definition = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/;

/**
 * The backed-up `.env` made the new machine's: every definition of UPLOAD_LOCATION and
 * DB_DATA_LOCATION dropped and one of each written at the end, pointing at the new library and a
 * new, empty database folder, single-quoted so that Compose (v2, and v1's dotenv) takes it
 * literally. Every other line stays as it was. The same two values are also given to every
 * compose run through its environment (composeEnvironment), which compose prefers to .env, so a
 * line compose reads that the agent does not would still not move them.
 */
export function newMachineEnv(
  backedUp: string,
  values: { uploadLocation: string; dbDataLocation: string },
): string {
  const replacements = new Map<string, string>([
    ['UPLOAD_LOCATION', values.uploadLocation],
    ['DB_DATA_LOCATION', values.dbDataLocation],
  ]);
  for (const [key, value] of replacements) assertWritable(key, value);
  assertLineBased(backedUp);
  const out: string[] = [];
  for (const line of backedUp.replace(/\r\n?/g, '\n').split('\n')) {
    const key = definition.exec(line)?.[1];
    if (key === undefined || !replacements.has(key)) out.push(line);
  }
  while (out.length > 0 && out.at(-1) === '') out.pop();
  for (const [key, value] of replacements) out.push(`${key}=${singleQuoted(value)}`);
  assertKnownReferences(out);
  return `${out.join('\n')}\n`;
}

/**
 * What every compose run is given as its environment, and nothing else of the agent's: PATH,
 * HOME as the password database has it for the agent's user (root's own /root, not one a caller
 * set: the docker CLI reads its config there), DOCKER_HOST when the agent has one (the engine
 * the agent talks to), and the two places. Compose takes the environment before .env (v1 and v2).
 */
export function composeEnvironment(
  own: NodeJS.ProcessEnv,
  env: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {
    PATH: own.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: os.userInfo().homedir,
  };
  if (own.DOCKER_HOST !== undefined) out.DOCKER_HOST = own.DOCKER_HOST;
  for (const key of rewritten) {
    const value = env.get(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** What compose interpolates the compose file with: .env, under its environment. */
export function composeInterpolation(
  env: ReadonlyMap<string, string>,
  own: NodeJS.ProcessEnv = process.env,
): Map<string, string> {
  return new Map([...env, ...Object.entries(composeEnvironment(own, env))]);
}

function singleQuoted(value: string): string {
  return `'${value}'`;
}

/** A value .env can hold literally between single quotes. */
export function assertWritable(key: string, value: string): void {
  if (/['\n\r\0\\]/.test(value)) {
    throw new AgentError(
      'CONFIG_INVALID',
      `${key} would be ${JSON.stringify(value)}, which .env cannot hold literally (it has a single quote, a backslash or a line break).`,
      {
        step: 'restore',
        hint: 'Choose a folder whose path has no single quote, backslash or line break.',
      },
    );
  }
  if (!value.startsWith('/')) {
    throw new AgentError('CONFIG_INVALID', `${key} must be an absolute path, not ${value}.`, {
      step: 'restore',
    });
  }
}

/**
 * Only lines the agent reads as compose does: blank, a comment, or `KEY=` (compose v2 also takes
 * `KEY: value`, which the agent would not see). A quoted value must end on its line, and a
 * single-quoted one hold no backslash (compose v2 reads `\'` as an escaped quote): else the agent
 * cannot tell where compose would end it. Refused, with the line's number.
 */
export function assertLineBased(backedUp: string): void {
  for (const [index, line] of backedUp.replace(/\r\n?/g, '\n').split('\n').entries()) {
    const why = lineProblem(line);
    if (why === null) continue;
    throw new AgentError(
      'CONFIG_INVALID',
      `The backed-up .env's line ${index + 1} ${why}: the agent cannot tell what compose would read from it.`,
      {
        step: 'restore',
        hint: 'Write the app folder by hand from the drive’s compose file and .env (see RESTORE.md).',
      },
    );
  }
}

function lineProblem(line: string): string | null {
  if (/^\s*(#.*)?$/.test(line)) return null;
  if (!definition.test(line)) return 'is not a KEY=value line';
  const key = definition.exec(line)?.[1] ?? '';
  // Compose's and Docker's own settings (another engine, file, profile) are not Immich's.
  if (/^(COMPOSE_|DOCKER_)/.test(key) && key !== 'COMPOSE_PROJECT_NAME')
    return `sets ${key}, a setting of compose itself`;
  const match = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(['"])(.*)$/.exec(line);
  if (!match) return null;
  const [, quote, rest] = match as unknown as [string, string, string];
  if (quote === "'") {
    const end = rest.indexOf("'");
    if (end < 0) return 'has a quoted value that goes on past its line';
    if (rest.slice(0, end).includes('\\')) return 'has a backslash inside single quotes';
    return null;
  }
  return /^(?:[^"\\]|\\.)*"/.test(rest) ? null : 'has a quoted value that goes on past its line';
}

/**
 * A value that is not single-quoted is interpolated by compose: it may name only a variable an
 * earlier line defines (else compose takes it from its environment, where the agent's reading of
 * .env would have none), in the plain forms the agent reads.
 */
function assertKnownReferences(lines: readonly string[]): void {
  const defined = new Set<string>();
  for (const [index, line] of lines.entries()) {
    const key = definition.exec(line)?.[1];
    if (key === undefined) continue;
    const value = line.slice(line.indexOf('=') + 1).trim();
    const problems = value.startsWith("'")
      ? []
      : referenceProblems(value, (name) => defined.has(name));
    defined.add(key);
    if (problems.length === 0) continue;
    throw new AgentError(
      'CONFIG_INVALID',
      `The backed-up .env's line ${index + 1} (of the new one) has ${problems.join('; ')}: the agent cannot tell what compose would read from it.`,
      {
        step: 'restore',
        hint: 'Write the app folder by hand from the drive’s compose file and .env (see RESTORE.md).',
      },
    );
  }
}
