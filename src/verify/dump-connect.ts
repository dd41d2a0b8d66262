/**
 * A cluster dump (pg_dumpall) holds every database of the server one after the other, each
 * after a psql `\connect` line to it; only the tables after the right one are the database's.
 * pg_dumpall writes `\connect immich` for a plain name (`\connect "Immich"` when it needs
 * quotes) and, for a name with other characters, a connection string:
 * `\connect -reuse-previous=on "dbname='my-db'"` (PostgreSQL's appendPsqlMetaConnect).
 */

/**
 * The header line of a cluster dump: pg_dumpall writes `--`, this line, `--` at the very start
 * of the file (17.12 then `\restrict …`; some 17.6-era builds a `\restrict` line first), so it
 * counts only among the first `clusterHeaderLines` lines: the same text further down (in a
 * function body, a comment) is not a header.
 */
export const clusterDumpHeader = '-- PostgreSQL database cluster dump';
export const clusterHeaderLines = 5;

/**
 * The database a `\connect` (or `\c`) line connects to; undefined for any other line, null for
 * a `\connect` that names none: no argument, or an unquoted `-` (the old `\connect - user`,
 * psql's "the same as before"), so psql stays on the same database.
 */
export function connectTarget(line: string): string | null | undefined {
  const match = /^\\(?:connect|c)(?:\s+(.*))?$/.exec(line);
  if (!match) return undefined;
  const words = psqlWords(match[1] ?? '');
  // Only psql's option -reuse-previous comes before the database.
  const target = words.find((word) => word.quoted || !/^-reuse-previous(=|$)/.test(word.text));
  if (target === undefined || target.text === '' || (target.text === '-' && !target.quoted))
    return null;
  if (!target.text.includes('=')) return target.text;
  return connectionStringDatabase(target.text);
}

/** psql's meta-command arguments: `'…'` (`''` and backslash escapes), `"…"` (`""`), or bare. */
function psqlWords(text: string): { text: string; quoted: boolean }[] {
  const words: { text: string; quoted: boolean }[] = [];
  let index = 0;
  while (index < text.length) {
    while (/\s/.test(text[index] ?? '')) index += 1;
    if (index >= text.length) break;
    let word = '';
    let quoted = false;
    while (index < text.length && !/\s/.test(text[index] as string)) {
      const quote = text[index];
      if (quote === '"' || quote === "'") {
        quoted = true;
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
    words.push({ text: word, quoted });
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
