/**
 * PostgreSQL's COPY text format, as pg_dump writes table data in a plain dump (PostgreSQL docs,
 * "COPY", "Text Format"): one row a line, fields separated by a tab, `\N` for NULL, backslash
 * escapes for what would break the line, and a line `\.` after the last row. A raw tab or newline
 * never appears inside a value (they are written `\t` and `\n`), so splitting on them is exact.
 */

/** The line that ends a table's data. */
export const endOfCopyData = '\\.';

/** One data line's fields: each unescaped, or null for `\N`. */
export function copyFields(line: string): (string | null)[] {
  return line.split('\t').map((raw) => (raw === '\\N' ? null : unescapeCopyText(raw)));
}

const simpleEscapes: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

const isOctal = (character: string | undefined): boolean =>
  character !== undefined && character >= '0' && character <= '7';
const isHex = (character: string | undefined): boolean =>
  character !== undefined && /^[0-9a-fA-F]$/.test(character);

/**
 * A field's text with its escapes undone: `\b \f \n \r \t \v \\`, `\` and one to three octal
 * digits or `\x` and one or two hex digits (a byte: consecutive ones are decoded together as
 * UTF-8, so an escaped multi-byte character comes back whole), any other character after a
 * backslash stands for itself.
 */
export function unescapeCopyText(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let text = '';
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length === 0) return;
    text += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let index = 0; index < raw.length; index += 1) {
    const character = raw[index] as string;
    if (character !== '\\' || index + 1 >= raw.length) {
      flushBytes();
      text += character;
      continue;
    }
    const next = raw[index + 1] as string;
    if (isOctal(next)) {
      let digits = next;
      while (digits.length < 3 && isOctal(raw[index + 1 + digits.length]))
        digits += raw[index + 1 + digits.length] as string;
      bytes.push(parseInt(digits, 8) & 0xff);
      index += digits.length;
    } else if (next === 'x' && isHex(raw[index + 2])) {
      const digits = isHex(raw[index + 3]) ? raw.slice(index + 2, index + 4) : raw[index + 2];
      bytes.push(parseInt(digits as string, 16));
      index += 1 + (digits as string).length;
    } else {
      flushBytes();
      text += simpleEscapes[next] ?? next;
      index += 1;
    }
  }
  flushBytes();
  return text;
}

/**
 * A bytea value's bytes from its text (after COPY's own unescaping): the hex form `\x0123…`
 * (PostgreSQL's default output since 9.0), or the older escape form (`\\` a backslash, `\ooo` a
 * byte, anything else the byte it is). Null for a value that is neither.
 */
export function byteaBytes(text: string): Buffer | null {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2);
    return hex.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(hex) ? Buffer.from(hex, 'hex') : null;
  }
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let index = 0; index < raw.length; index += 1) {
    const byte = raw[index] as number;
    if (byte !== 0x5c) {
      bytes.push(byte);
    } else if (raw[index + 1] === 0x5c) {
      bytes.push(0x5c);
      index += 1;
    } else {
      const digits = raw.subarray(index + 1, index + 4).toString('latin1');
      if (!/^[0-3][0-7]{2}$/.test(digits)) return null;
      bytes.push(parseInt(digits, 8));
      index += 3;
    }
  }
  return Buffer.from(bytes);
}

/** A SHA-1 as 40 lowercase hex digits from a bytea field; null unless it holds 20 bytes. */
export function sha1Hex(field: string | null): string | null {
  if (field === null) return null;
  const bytes = byteaBytes(field);
  return bytes !== null && bytes.length === 20 ? bytes.toString('hex') : null;
}

export interface CopyStatement {
  /** The schema as written (`public`), or null when the table is not qualified. */
  schema: string | null;
  table: string;
  columns: string[];
}

/** A table without columns has no list: pg_dump writes `COPY public.t  FROM stdin;`. */
const copyLine = /^COPY (.+?) (?:\((.*)\) | )FROM stdin;$/;

/**
 * The table and columns of a line `COPY public."user" (id, "profileImagePath") FROM stdin;`,
 * names unquoted (`""` in a quoted name is one `"`); no columns for a table that has none (its
 * rows are empty lines); null for any other line.
 */
export function parseCopyStatement(line: string): CopyStatement | null {
  const match = copyLine.exec(line);
  if (!match) return null;
  const name = splitIdentifiers(match[1] as string, '.');
  const columns = match[2] === undefined ? [] : splitIdentifiers(match[2], ',');
  if (name === null || columns === null || name.length < 1 || name.length > 2) return null;
  return {
    schema: name.length === 2 ? (name[0] as string) : null,
    table: name[name.length - 1] as string,
    columns,
  };
}

/** `a, "B c", "d""e"` split at `separator` outside double quotes, each name unquoted. */
function splitIdentifiers(text: string, separator: string): string[] | null {
  const names: string[] = [];
  let index = 0;
  while (index <= text.length) {
    while (text[index] === ' ') index += 1;
    let name = '';
    if (text[index] === '"') {
      index += 1;
      for (;;) {
        if (index >= text.length) return null;
        if (text[index] === '"') {
          if (text[index + 1] !== '"') break;
          index += 1;
        }
        name += text[index];
        index += 1;
      }
      index += 1;
    } else {
      while (index < text.length && text[index] !== separator && text[index] !== ' ')
        name += text[index++] as string;
    }
    while (text[index] === ' ') index += 1;
    if (name === '') return null;
    names.push(name);
    if (index >= text.length) return names;
    if (text[index] !== separator) return null;
    index += 1;
  }
  return null;
}
