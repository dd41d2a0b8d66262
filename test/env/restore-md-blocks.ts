/**
 * RESTORE.md read the way a newcomer follows it: the "By hand" section's fenced blocks, in order,
 * each with its language label and the step heading it is under.
 */
export interface GuideBlock {
  /** The fence's label (`bash`, `dotenv`, or '' when it has none). */
  label: string;
  /** The `### …` heading the block is under. */
  step: string;
  body: string;
}

/** The text of the `## By hand…` section, up to the next `## ` heading. */
export function byHandSection(guide: string): string {
  const start = guide.search(/^## By hand/m);
  if (start < 0) throw new Error('RESTORE.md has no "## By hand" section');
  const rest = guide.slice(start);
  const end = rest.slice(3).search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end + 3);
}

/** Every fenced block of `section` (fences of three or more backticks at a line's start). */
export function guideBlocks(section: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  let step = '';
  let open: { fence: string; label: string; lines: string[] } | null = null;
  for (const line of section.split('\n')) {
    if (open) {
      if (line === open.fence) {
        blocks.push({ label: open.label, step, body: open.lines.join('\n') });
        open = null;
      } else open.lines.push(line);
      continue;
    }
    const heading = /^### (.*)$/.exec(line);
    if (heading) step = heading[1] ?? '';
    const fence = /^(`{3,})(\S*)$/.exec(line);
    if (fence) open = { fence: fence[1] ?? '```', label: fence[2] ?? '', lines: [] };
  }
  if (open) throw new Error(`a code block under "${step}" is not closed`);
  return blocks;
}
