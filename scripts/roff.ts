/**
 * The little Markdown the docs use (paragraphs, `- ` lists, fenced code, `code`, **bold**,
 * _emphasis_, [links](…)) as man(7) roff, so the man page carries the docs' own sentences
 * instead of a second copy that drifts.
 */
import path from 'node:path';

/**
 * Text as roff reads it literally: a backslash is `\e`, every hyphen `\-` (an ASCII minus in
 * every output, so an option copied from the page works), and a line may not start with a dot
 * or an apostrophe (roff would take it for a request).
 */
export function escapeRoff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/** A line of output text that roff does not take for a request. */
function guardLine(line: string): string {
  return /^[.']/.test(line) ? `\\&${line}` : line;
}

/**
 * Where a link of the docs points, as a reader of the man page can follow it: a file of the
 * package (`docs/restore.md`), a web address, or nothing for a place on the same page.
 * `base` is the folder of the document the link is in (`docs` for docs/commands.md).
 */
function linkTarget(target: string, base: string): string | null {
  if (/^[a-z]+:/.test(target)) return target;
  const file = target.replace(/#.*$/, '');
  return file ? path.posix.normalize(path.posix.join(base, file)) : null;
}

/** Inline Markdown in one paragraph, as roff font changes; a link is its text and its file. */
export function inlineRoff(markdown: string, base = ''): string {
  let out = '';
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|(?<![\w])_([^_]+)_(?![\w])|\[([^\]]+)\]\(([^)]*)\)/g;
  let last = 0;
  for (const match of markdown.matchAll(pattern)) {
    out += escapeRoff(unescapeMarkdown(markdown.slice(last, match.index)));
    const [, code, bold, emphasis, link, target] = match;
    if (code !== undefined) out += `\\fB${escapeRoff(code)}\\fR`;
    else if (bold !== undefined) out += `\\fB${inlineRoff(bold, base)}\\fR`;
    else if (emphasis !== undefined) out += `\\fI${inlineRoff(emphasis, base)}\\fR`;
    else if (link !== undefined) {
      const where = linkTarget(target ?? '', base);
      out += inlineRoff(link, base) + (where ? ` (\\fI${escapeRoff(where)}\\fR)` : '');
    }
    last = (match.index ?? 0) + match[0].length;
  }
  return out + escapeRoff(unescapeMarkdown(markdown.slice(last)));
}

/** Markdown's backslash escapes (`\|` in a table cell) undone. */
function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_[\]|#<>-])/g, '$1');
}

/** Blocks of Markdown (paragraphs, lists, fenced code) as roff requests and text lines. */
export function blocksRoff(markdown: string, base = ''): string[] {
  const lines = markdown.split('\n');
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) out.push('.PP', guardLine(inlineRoff(paragraph.join(' '), base)));
    paragraph = [];
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    if (line.startsWith('```')) {
      flush();
      out.push('.PP', '.RS 4', '.nf');
      for (index++; index < lines.length && !(lines[index] as string).startsWith('```'); index++)
        out.push(guardLine(escapeRoff(lines[index] as string)));
      out.push('.fi', '.RE');
    } else if (/^\s*- /.test(line)) {
      flush();
      const item = [line.replace(/^\s*- /, '')];
      while (index + 1 < lines.length && /^\s{2,}\S/.test(lines[index + 1] as string))
        item.push((lines[++index] as string).trim());
      out.push('.IP \\(bu 2', guardLine(inlineRoff(item.join(' '), base)));
    } else if (line.trim() === '' || line.startsWith('<!--')) {
      flush();
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
  return out;
}
