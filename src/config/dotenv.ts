/**
 * Reads an Immich `.env` the way Docker Compose does: `KEY=value` lines, `#` comments, an
 * optional `export ` prefix, single quotes taken literally, double quotes with escapes, inline
 * comments after an unquoted value, and `${VAR}` / `${VAR:-default}` / `$VAR` taken from keys
 * defined earlier in the same file.
 */
export function parseDotenv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] as string;
    let raw = match[2] as string;
    let value: string;
    if (raw.startsWith("'")) {
      // A single-quoted value may span lines; it ends at the next single quote.
      while (!/^'[^']*'/.test(raw) && index + 1 < lines.length) {
        index += 1;
        raw += '\n' + (lines[index] ?? '');
      }
      value = /^'([^']*)'/.exec(raw)?.[1] ?? raw.slice(1);
    } else if (raw.startsWith('"')) {
      while (!/^"(?:[^"\\]|\\.)*"/.test(raw) && index + 1 < lines.length) {
        index += 1;
        raw += '\n' + (lines[index] ?? '');
      }
      const inner = /^"((?:[^"\\]|\\.)*)"/.exec(raw)?.[1] ?? raw.slice(1);
      value = interpolate(unescapeDoubleQuoted(inner), values);
    } else {
      value = interpolate(raw.replace(/\s+#.*$/, '').trim(), values);
    }
    values.set(key, value);
  }
  return values;
}

function unescapeDoubleQuoted(text: string): string {
  return text.replace(/\\(.)/g, (_, character: string) => {
    switch (character) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      default:
        return character;
    }
  });
}

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$VAR`; `$$` is a literal dollar. */
export function interpolate(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, operator?: string, fallback?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare ?? '';
      const value = values.get(name);
      if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
      if (operator === '-') return value ?? fallback ?? '';
      return value ?? '';
    },
  );
}
