import { AgentError } from '../errors.js';

/**
 * The backed-up `.env` made the new machine's: UPLOAD_LOCATION pointed at the new library and
 * DB_DATA_LOCATION at a new, empty database folder, each single-quoted so that Compose (v2, and
 * v1's dotenv) takes it literally: no `$` expansion, no `#` comment, spaces kept. Every other
 * line stays as it was (the Immich version, the database password). A path that cannot be
 * written so (a single quote, a line break, a NUL) is refused rather than written wrongly.
 */
export function newMachineEnv(
  backedUp: string,
  values: { uploadLocation: string; dbDataLocation: string },
): string {
  const replacements = new Map([
    ['UPLOAD_LOCATION', values.uploadLocation],
    ['DB_DATA_LOCATION', values.dbDataLocation],
  ]);
  for (const [key, value] of replacements) assertWritable(key, value);
  const seen = new Set<string>();
  const lines = backedUp.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line);
    const key = match?.[1];
    const value = key === undefined ? undefined : replacements.get(key);
    if (key === undefined || value === undefined) {
      out.push(line);
      continue;
    }
    // A key given twice: the last one counts for compose; both are made the new value.
    seen.add(key);
    out.push(`${key}=${singleQuoted(value)}`);
  }
  while (out.length > 0 && out.at(-1) === '') out.pop();
  for (const [key, value] of replacements) {
    if (!seen.has(key)) out.push(`${key}=${singleQuoted(value)}`);
  }
  return `${out.join('\n')}\n`;
}

function singleQuoted(value: string): string {
  return `'${value}'`;
}

/** A value .env can hold literally between single quotes. */
export function assertWritable(key: string, value: string): void {
  if (/['\n\r\0]/.test(value)) {
    throw new AgentError(
      'CONFIG_INVALID',
      `${key} would be ${JSON.stringify(value)}, which .env cannot hold literally (it has a single quote or a line break).`,
      { step: 'restore', hint: 'Choose a folder whose path has no single quote or line break.' },
    );
  }
  if (!value.startsWith('/')) {
    throw new AgentError('CONFIG_INVALID', `${key} must be an absolute path, not ${value}.`, {
      step: 'restore',
    });
  }
}

/**
 * A multi-line single-quoted value in the backed-up .env would swallow the lines after it:
 * the lines rewritten above could then be inside a value. Refused, as the agent cannot tell
 * where compose would end it.
 */
export function assertLineBased(backedUp: string): void {
  for (const [index, line] of backedUp.replace(/\r\n?/g, '\n').split('\n').entries()) {
    const match = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(['"])(.*)$/.exec(line);
    if (!match) continue;
    const [, quote, rest] = match as unknown as [string, string, string];
    const closed = quote === "'" ? rest.includes("'") : /^(?:[^"\\]|\\.)*"/.test(rest);
    if (!closed) {
      throw new AgentError(
        'CONFIG_INVALID',
        `The backed-up .env has a quoted value that goes on past its line (line ${index + 1}).`,
        {
          step: 'restore',
          hint: 'Write the app folder by hand from the drive’s compose file and .env (see RESTORE.md).',
        },
      );
    }
  }
}
