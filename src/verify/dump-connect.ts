/**
 * A cluster dump (pg_dumpall) holds every database of the server one after the other, each
 * after a psql `\connect` line to it; only the tables after the right one are the database's.
 * pg_dumpall writes `\connect immich` for a plain name (`\connect "Immich"` when it needs
 * quotes) and, for a name with other characters, a connection string:
 * `\connect -reuse-previous=on "dbname='my-db'"` (PostgreSQL's appendPsqlMetaConnect).
 */

/** The first line of a cluster dump's header (pg_dumpall; after a `\restrict` line in 17.6+). */
export const clusterDumpHeader = '-- PostgreSQL database cluster dump';

/**
 * The database a `\connect` (or `\c`) line connects to; undefined for any other line, null for
 * a `\connect` that names none (psql then stays on the same database).
 */
export function connectTarget(line: string): string | null | undefined {
  const match = /^\\(?:connect|c)(?:\s+(.*))?$/.exec(line);
  if (!match) return undefined;
  const words = psqlWords(match[1] ?? '');
  const target = words.find((word) => !word.startsWith('-'));
  if (target === undefined || target === '') return null;
  if (!target.includes('=')) return target;
  return connectionStringDatabase(target);
}

/** psql's meta-command arguments: `'…'` (`''` and backslash escapes), `"…"` (`""`), or bare. */
function psqlWords(text: string): string[] {
  const words: string[] = [];
  let index = 0;
  while (index < text.length) {
    while (/\s/.test(text[index] ?? '')) index += 1;
    if (index >= text.length) break;
    let word = '';
    while (index < text.length && !/\s/.test(text[index] as string)) {
      const quote = text[index];
      if (quote === '"' || quote === "'") {
        index += 1;
        while (index < text.length) {
          const character = text[index] as string;
          if (character === quote && text[index + 1] === quote) {
            word += quote;
            index += 2;
          } else if (character === quote) {
            index += 1;
            break;
          } else if (quote === "'" && character === '\\' && index + 1 < text.length) {
            word += text[index + 1] as string;
            index += 2;
          } else {
            word += character;
            index += 1;
          }
        }
      } else {
        word += quote as string;
        index += 1;
      }
    }
    words.push(word);
  }
  return words;
}

/** `dbname` of a libpq connection string (`dbname='my-db' host=…`; `\'` and `\\` in quotes). */
function connectionStringDatabase(text: string): string | null {
  const pattern = /\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/g;
  for (const match of text.matchAll(pattern)) {
    if (match[1] !== 'dbname') continue;
    const value = match[2] as string;
    return value.startsWith("'") ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
  }
  return null;
}
