/**
 * Values from Immich's `.env` and compose file (paths, names, image references) written into
 * RESTORE.md, where a person reads them and pastes commands. None is trusted: a name may hold
 * spaces, quotes, `$(…)`, backticks or a line break. In prose a value is a code span that no
 * backtick in it can close; in a command it is one shell word that nothing in it can end.
 */

/**
 * Characters that must not be shown as they are: control characters (a line break would end a
 * code span's paragraph, or a command) and the bidirectional controls (U+200E/F, U+202A–202E,
 * U+2066–2069), which make a line display in another order than bash and Markdown read it.
 */
// eslint-disable-next-line no-control-regex
const unsafeCharacters = /[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const unsafeAll = new RegExp(unsafeCharacters.source, 'g');

/** `\uXXXX` for a character that is shown escaped. */
const escapeUnicode = (character: string): string =>
  `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A Markdown code span showing `value` as it is: fenced by one backtick more than its longest run
 * of backticks, padded when it starts or ends with one (CommonMark strips one space each side).
 * A value with control or bidirectional characters is shown JSON-escaped, on one line.
 */
export function codeSpan(value: string): string {
  const shown = unsafeCharacters.test(value)
    ? JSON.stringify(value).replace(unsafeAll, escapeUnicode)
    : value;
  const longestRun = Math.max(0, ...[...shown.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = /^[`\s]|[`\s]$/.test(shown) || shown === '' ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/**
 * One word for bash, taken literally: single quotes (inside which nothing is special), a quote
 * in the value closed, escaped and reopened; a value with control or bidirectional characters in
 * bash's `$'…'`, every such character escaped as its UTF-8 bytes (`\xHH`, read the same in any
 * locale), so a command never spans a line it did not mean to, nor shows in another order.
 */
export function shellQuote(value: string): string {
  if (unsafeCharacters.test(value)) {
    const escaped = [...value]
      .map((character) => {
        if (character === '\\' || character === "'") return `\\${character}`;
        if (!unsafeCharacters.test(character)) return character;
        return [...Buffer.from(character, 'utf8')]
          .map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`)
          .join('');
      })
      .join('');
    return `$'${escaped}'`;
  }
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
