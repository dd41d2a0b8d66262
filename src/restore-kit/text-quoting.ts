/**
 * Values from Immich's `.env` and compose file (paths, names, image references) written into
 * RESTORE.md, where a person reads them and pastes commands. None is trusted: a name may hold
 * spaces, quotes, `$(…)`, backticks or a line break. In prose a value is a code span that no
 * backtick in it can close; in a command it is one shell word that nothing in it can end.
 */

/** Control characters (a line break would end a code span's paragraph, or a command). */
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;

/**
 * A Markdown code span showing `value` as it is: fenced by one backtick more than its longest run
 * of backticks, padded when it starts or ends with one (CommonMark strips one space each side).
 * A value with control characters is shown JSON-escaped, on one line.
 */
export function codeSpan(value: string): string {
  const shown = controlCharacters.test(value) ? JSON.stringify(value) : value;
  const longestRun = Math.max(0, ...[...shown.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = /^[`\s]|[`\s]$/.test(shown) || shown === '' ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/**
 * One word for bash, taken literally: single quotes (inside which nothing is special), a quote
 * in the value closed, escaped and reopened; a value with control characters in bash's `$'…'`,
 * every such character escaped, so a command never spans a line it did not mean to.
 */
export function shellQuote(value: string): string {
  if (controlCharacters.test(value)) {
    const escaped = [...value]
      .map((character) => {
        if (character === '\\' || character === "'") return `\\${character}`;
        if (!controlCharacters.test(character)) return character;
        return `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`;
      })
      .join('');
    return `$'${escaped}'`;
  }
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
