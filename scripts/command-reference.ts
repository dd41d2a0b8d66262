/**
 * The commands as buildProgram() defines them, for docs/commands.md and the man page: each
 * command's synopsis, description and options, read from commander's own objects, so the docs
 * cannot name an option the program does not take, nor miss one it does.
 */
import type { Command, Option } from 'commander';

export interface CommandEntry {
  /** The words that name it after the program's name: `run`, `config validate`. */
  name: string;
  command: Command;
}

/** Every command and subcommand, in the order the program defines them (parents first). */
export function listCommands(program: Command): CommandEntry[] {
  const entries: CommandEntry[] = [];
  const walk = (command: Command, prefix: string): void => {
    for (const child of command.commands) {
      const name = prefix ? `${prefix} ${child.name()}` : child.name();
      entries.push({ name, command: child });
      walk(child, name);
    }
  };
  walk(program, '');
  return entries;
}

/** The options a user can give: everything but the implicit --help, which every command takes. */
export function visibleOptions(command: Command): Option[] {
  return command.options.filter((option) => !option.hidden);
}

/** `--trigger manual|hotplug|schedule`, `-n <N>`, `--force`: how the option is written. */
export function optionUsage(option: Option): string {
  const flag = option.short ?? option.long ?? option.flags;
  const value = /[<[].*[>\]]/.exec(option.flags)?.[0];
  if (option.argChoices) return `${flag} ${option.argChoices.join('|')}`;
  return value ? `${flag} ${value}` : flag;
}

/** A repeatable option collects its values in an array (`--uuid A --uuid B`). */
function repeatable(option: Option): boolean {
  return Array.isArray(option.defaultValue);
}

/** The command line as a synopsis: `immich-backup-agent run [--force] …`. */
export function synopsis(programName: string, entry: CommandEntry): string {
  return synopsisWords(programName, entry).join(' ');
}

/** The synopsis word by word: the program, the command's names, then one entry per option. */
export function synopsisWords(programName: string, entry: CommandEntry): string[] {
  const words = [programName, ...entry.name.split(' ')];
  if (entry.command.commands.length > 0) {
    words.push(entry.command.commands.map((child) => child.name()).join('|'));
  }
  for (const option of visibleOptions(entry.command)) {
    const usage = optionUsage(option);
    const shown = option.mandatory ? usage : `[${usage}]`;
    words.push(repeatable(option) ? `${shown}…` : shown);
  }
  return words;
}

/** The default an option takes when it is not given, or null when there is none worth saying. */
export function optionDefault(option: Option): string | null {
  const value: unknown = option.defaultValue;
  if (value === undefined || value === false) return null;
  if (Array.isArray(value)) return value.length === 0 ? null : value.join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What the option does, and what it must be (its description says how often it may be given). */
export function optionMeaning(option: Option): string {
  const notes = [
    ...(option.mandatory ? ['required'] : []),
    ...(option.argChoices ? [`one of ${option.argChoices.join(', ')}`] : []),
  ];
  return notes.length > 0 ? `${option.description} (${notes.join('; ')})` : option.description;
}

/** A description as a sentence: capital first letter, full stop at the end. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const markdownCell = (text: string): string => text.replace(/\|/g, '\\|');

/** One command's generated part of docs/commands.md: heading, synopsis, description, options. */
export function renderCommandMarkdown(programName: string, entry: CommandEntry): string {
  const lines = [
    `## \`${entry.name}\``,
    '',
    '```',
    synopsis(programName, entry),
    '```',
    '',
    sentence(entry.command.description()),
  ];
  if (entry.command.commands.length > 0) {
    lines.push('', '| command | what it does |', '| --- | --- |');
    for (const child of entry.command.commands)
      lines.push(
        `| [\`${entry.name} ${child.name()}\`](#${anchor(`${entry.name} ${child.name()}`)}) | ${markdownCell(sentence(child.description()))} |`,
      );
  }
  const options = visibleOptions(entry.command);
  if (options.length > 0) {
    lines.push('', '| option | meaning | default |', '| --- | --- | --- |');
    for (const option of options) {
      const fallback = optionDefault(option);
      lines.push(
        `| \`${markdownCell(option.flags)}\` | ${markdownCell(optionMeaning(option))} | ${fallback === null ? '—' : `\`${markdownCell(fallback)}\``} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The global options (before the command), as a table. */
export function renderGlobalOptionsMarkdown(program: Command): string {
  const lines = [
    '```',
    `${program.name()} [--config <path>] <command> [options]`,
    '```',
    '',
    '| option | meaning |',
    '| --- | --- |',
  ];
  for (const option of visibleOptions(program))
    lines.push(`| \`${markdownCell(option.flags)}\` | ${markdownCell(option.description)} |`);
  lines.push('| `-h, --help` | help for the program, or for the command it follows |');
  return lines.join('\n');
}

/** GitHub's anchor for a heading such as `## \`config validate\``. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

const blockStart = (name: string): string => `<!-- command:${name}:start (npm run docs) -->`;
const blockEnd = (name: string): string => `<!-- command:${name}:end -->`;
/** The global options' block uses this name (no command is called that). */
export const globalBlockName = '(global)';

/** The generated blocks of a commands document: name → content between the markers. */
export function commandBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const pattern =
    /<!-- command:(.+?):start \(npm run docs\) -->\n([\s\S]*?)\n?<!-- command:\1:end -->/g;
  for (const match of markdown.matchAll(pattern))
    blocks.set(match[1] as string, (match[2] as string).trim());
  return blocks;
}

/**
 * The commands document with every generated block rendered again from the program. A command
 * without a block yet gets one at the end, for its hand-written text to follow.
 */
export function withCommandReference(markdown: string, program: Command): string {
  const rendered = new Map<string, string>([
    [globalBlockName, renderGlobalOptionsMarkdown(program)],
    ...listCommands(program).map(
      (entry) => [entry.name, renderCommandMarkdown(program.name(), entry)] as const,
    ),
  ]);
  let text = markdown;
  for (const [name, content] of rendered) {
    const start = text.indexOf(blockStart(name));
    const end = text.indexOf(blockEnd(name));
    const block = `${blockStart(name)}\n\n${content}\n\n${blockEnd(name)}`;
    text =
      start >= 0 && end > start
        ? text.slice(0, start) + block + text.slice(end + blockEnd(name).length)
        : `${text.trimEnd()}\n\n${block}\n`;
  }
  return text;
}

/**
 * The hand-written text that follows a command's block, up to the next heading of its level:
 * what docs/commands.md says about the command beyond its options (the man page carries it too).
 */
export function handWrittenPart(markdown: string, name: string): string {
  const end = markdown.indexOf(blockEnd(name));
  if (end < 0) return '';
  const rest = markdown.slice(end + blockEnd(name).length);
  const next = rest.search(/^#{1,2} |^<!-- command:/m);
  return (next < 0 ? rest : rest.slice(0, next)).trim();
}
