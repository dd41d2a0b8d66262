import type { Command, Option } from 'commander';

/**
 * Shell completion, generated from the command definitions (`buildProgram()`), so it names
 * exactly the commands and options the program has: scripts/package.ts writes the bash and zsh
 * scripts the Debian package installs (completion-bash.ts, completion-zsh.ts). This file reads
 * the program into plain data both are written from.
 */

/** What a shell offers after an option that takes a value. */
export type ValueKind =
  | { kind: 'choices'; choices: string[] }
  | { kind: 'file' }
  | { kind: 'directory' }
  | { kind: 'text' };

export interface CompletionOption {
  /** Every spelling: `-n`, `--lines`. */
  names: string[];
  description: string;
  /** Null for a flag; what its value is, for an option that takes one. */
  value: ValueKind | null;
  /** The value's placeholder as the help shows it (`<DIR>`), or '' for a flag. */
  placeholder: string;
  /** May be given more than once (`--uuid A --uuid B`). */
  repeatable: boolean;
}

export interface CompletionCommand {
  /** The words from the program to this command: [] for the program, ['drive', 'trust']. */
  path: string[];
  description: string;
  options: CompletionOption[];
  commands: CompletionCommand[];
}

/** Commander's help option, which it adds to every command without listing it in `.options`. */
const helpOption: CompletionOption = {
  names: ['-h', '--help'],
  description: 'display help for command',
  value: null,
  placeholder: '',
  repeatable: false,
};

/** The placeholders whose values are paths: files (`<path>`) and folders (`<DIR>`). */
function valueOf(option: Option, placeholder: string): ValueKind | null {
  if (!option.required && !option.optional) return null;
  if (option.argChoices && option.argChoices.length > 0)
    return { kind: 'choices', choices: [...option.argChoices] };
  if (placeholder === 'DIR') return { kind: 'directory' };
  if (/^(path|file)$/i.test(placeholder)) return { kind: 'file' };
  return { kind: 'text' };
}

function readOption(option: Option): CompletionOption {
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1] ?? '';
  return {
    names: [option.short, option.long].filter((name): name is string => Boolean(name)),
    description: option.description,
    value: valueOf(option, placeholder),
    placeholder,
    repeatable: option.variadic || Array.isArray(option.defaultValue),
  };
}

/** The program (or one of its commands) as completion data; hidden commands stay hidden. */
export function readCommand(command: Command, path: string[] = []): CompletionCommand {
  return {
    path,
    description: command.description(),
    options: [...command.options.map(readOption), helpOption],
    commands: command.commands
      .filter((sub) => !(sub as Command & { _hidden?: boolean })._hidden)
      .map((sub) => readCommand(sub, [...path, sub.name()])),
  };
}

/** Every command of the tree, the program first, then depth first. */
export function allCommands(root: CompletionCommand): CompletionCommand[] {
  return [root, ...root.commands.flatMap(allCommands)];
}

/** The installed names of the scripts, where Debian's bash-completion and zsh look for them. */
export const completionFiles = {
  bash: 'usr/share/bash-completion/completions/immich-backup-agent',
  zsh: 'usr/share/zsh/vendor-completions/_immich-backup-agent',
} as const;
