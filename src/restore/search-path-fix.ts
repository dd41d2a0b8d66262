import { Transform, type TransformCallback } from 'node:stream';

/** The line every pg_dump writes in its header, which empties search_path for the session. */
export const emptySearchPath = "SELECT pg_catalog.set_config('search_path', '', false);";
/** Immich's documented fix: Immich's functions and extensions need public on the path. */
export const immichSearchPath =
  "SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);";

/**
 * What may stand in a dump's header, before its first object: pg_dump's comments and blank
 * lines, its `SET …`/`SELECT pg_catalog.set_config(…)` lines, and psql meta-commands
 * (`\connect` in a cluster dump, `\restrict` since PostgreSQL 17.6).
 */
const headerLine = /^(--.*|\s*|SET .*|SELECT pg_catalog\.set_config\(.*|\\[a-z]+( .*)?)$/;

/**
 * The `sed` of Immich's restore instructions, done right: it rewrites pg_dump's search_path
 * line only where pg_dump writes it, in the dump's header, and passes every other byte through
 * untouched. The sed rewrites the line wherever it appears, so an album description or a
 * function body holding that text would come back changed.
 *
 * A `pg_dump` dump has one header; a `pg_dumpall` cluster dump has one after each `\connect`,
 * which is looked for outside COPY data only (a data line can never be a bare `\connect`:
 * COPY writes a backslash as `\\`). Lines are handled as Latin-1, which maps each byte to one
 * character and back, so UTF-8 comes back byte for byte.
 */
export class SearchPathFix extends Transform {
  private pending = '';
  private inHeader = true;
  private inCopyData = false;
  /** A pg_dump dump past its header: the rest streams through as it is. */
  private passThrough = false;

  constructor(private readonly format: 'pg_dump' | 'pg_dumpall') {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.passThrough) {
      callback(null, chunk);
      return;
    }
    const text = this.pending + chunk.toString('latin1');
    const lastNewline = text.lastIndexOf('\n');
    this.pending = text.slice(lastNewline + 1);
    if (lastNewline >= 0) {
      const lines = text.slice(0, lastNewline).split('\n');
      this.push(Buffer.from(`${lines.map((line) => this.line(line)).join('\n')}\n`, 'latin1'));
    }
    if (this.passThrough && this.pending) {
      this.push(Buffer.from(this.pending, 'latin1'));
      this.pending = '';
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending) this.push(Buffer.from(this.line(this.pending), 'latin1'));
    callback();
  }

  private line(line: string): string {
    if (this.passThrough) return line;
    if (this.inCopyData) {
      if (line === '\\.') this.inCopyData = false;
      return line;
    }
    if (this.inHeader) {
      if (line === emptySearchPath) return immichSearchPath;
      if (headerLine.test(line)) return line;
      this.inHeader = false;
      if (this.format === 'pg_dump') {
        this.passThrough = true;
        return line;
      }
    }
    if (/^COPY .* FROM stdin;$/.test(line)) this.inCopyData = true;
    else if (line.startsWith('\\connect ')) this.inHeader = true;
    return line;
  }
}
