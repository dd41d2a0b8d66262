import os from 'node:os';
import { parseDotenv } from '../config/dotenv.js';
import { AgentError } from '../errors.js';
import { referenceProblems } from './from-drive-compose-rules.js';

const rewritten = ['UPLOAD_LOCATION', 'DB_DATA_LOCATION'] as const;
const definition = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/;

/**
 * The backed-up `.env` made the new machine's, written afresh from what the agent read in it
 * (never a line of the drive's copied as it was): a comment, then every key in its order as
 * `KEY='value'`, with UPLOAD_LOCATION and DB_DATA_LOCATION pointing at the new library and a new,
 * empty database folder. A value that single quotes cannot hold the same way for compose v2
 * (compose-go) and v1 (python-dotenv, which expands `${…}` even there) is refused: a quote, a
 * backslash, a `$`, a line break. So whatever trick the drive's file holds (text after a closing
 * quote, escapes, references compose resolves from its own environment), compose reads exactly
 * the values the agent checked. The same two places are also given to every compose run through
 * its environment (composeEnvironment).
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
  assertKnownReferences(backedUp.replace(/\r\n?/g, '\n').split('\n'));
  const read = parseDotenv(backedUp);
  const out = [
    "# Immich's .env, written by immich-backup-agent restore --from-drive from the backup's copy:",
    '# every value as it was read there, single-quoted; the library and the database folder are',
    "# this machine's.",
  ];
  for (const [key, value] of read) {
    if (replacements.has(key)) continue;
    assertCanonical(key, value);
    out.push(`${key}='${value}'`);
  }
  for (const [key, value] of replacements) out.push(`${key}='${value}'`);
  return `${out.join('\n')}\n`;
}

/** A key and value written as `KEY='value'` mean the same to compose v2, v1 and the agent. */
function assertCanonical(key: string, value: string): void {
  const problem = !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? 'is not a plain name'
    : /['\\$\p{Cc}\u2028\u2029]/u.test(value)
      ? 'has a value with a quote, a backslash, a $, a line break or another control character'
      : null;
  if (problem === null) return;
  throw new AgentError(
    'CONFIG_INVALID',
    `The backed-up .env's ${JSON.stringify(key)} ${problem}: the agent cannot write it so that compose reads the value the agent checked.`,
    {
      step: 'restore',
      hint: 'Write the app folder by hand from the drive’s compose file and .env (see RESTORE.md), or change that value in Immich first (Immich’s documentation asks for passwords of letters and digits).',
    },
  );
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
  const closed =
    quote === "'" ? /^([^']*)'(.*)$/.exec(rest) : /^((?:[^"\\]|\\.)*)"(.*)$/.exec(rest);
  if (!closed) return 'has a quoted value that goes on past its line';
  if (quote === "'" && (closed[1] ?? '').includes('\\'))
    return 'has a backslash inside single quotes';
  // compose v2 reads on after a closing quote (`A='x' A=/`), v1 drops the line: neither is
  // what the agent reads.
  if (!/^\s*(#.*)?$/.test(closed[2] ?? '')) return 'has text after its quoted value';
  return null;
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
      `The backed-up .env's line ${index + 1} has ${problems.join('; ')}: the agent cannot tell what compose would read from it.`,
      {
        step: 'restore',
        hint: 'Write the app folder by hand from the drive’s compose file and .env (see RESTORE.md).',
      },
    );
  }
}
