/**
 * The names the agent takes from Immich's `.env` and compose file (owned by whoever runs Immich,
 * not by root) and hands to Docker and PostgreSQL. Each is checked to be a plain name before it
 * goes anywhere: a value that fails is refused, never repaired. Each check returns the problem
 * in words, or null when the name is good.
 */

/**
 * Docker's own rule for container names (`validContainerNamePattern` in moby:
 * `[a-zA-Z0-9][a-zA-Z0-9_.-]+`). Anything else is a name the engine would refuse to create, so
 * no real container has it; `a/../b` would become another path of the engine's API.
 */
const containerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function containerNameProblem(name: string): string | null {
  if (containerNamePattern.test(name)) return null;
  return `${JSON.stringify(name)} is not a container name Docker accepts (a letter or digit, then at least one of letters, digits, "_", "." and "-")`;
}

/**
 * A database or role name as the agent accepts it: a letter or `_`, then letters, digits, `_`
 * and `-`, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1; a longer name would be cut short).
 * PostgreSQL allows more inside double quotes, but Immich's names (`immich`, `postgres`) and
 * ordinary ones fit this, while what would change the meaning of a command line or a connection
 * string cannot: a leading `-` (an option), spaces, `=` and quotes (conninfo), `/`, `$`, NUL.
 */
const postgresNamePattern = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export function postgresNameProblem(name: string): string | null {
  if (postgresNamePattern.test(name)) return null;
  return `${JSON.stringify(name)} is not a plain PostgreSQL name (a letter or "_", then letters, digits, "_" or "-", at most 63)`;
}

/**
 * UPLOAD_LOCATION: a path, absolute or relative to the app folder (Immich's example has
 * `./library`), without NUL or other control characters (a newline would split a log line or
 * a restore plan; NUL cuts a path short in every system call).
 */
export function uploadLocationProblem(value: string): string | null {
  if (value.trim() === '') return 'is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    return `${JSON.stringify(value)} holds a control character (NUL, newline, …), which no folder name should`;
  return null;
}
