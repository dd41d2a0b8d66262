import type { CompletionCommand, CompletionOption } from './completion.js';

/** A word in single quotes for zsh: nothing in it is expanded. */
const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/** Text inside an _arguments explanation (`[…]`), where brackets end it. */
const explained = (text: string): string => text.replace(/([[\]\\])/g, '\\$1');
/** Text between colons (a message, a command's name in _describe), where a colon ends it. */
const escaped = (text: string): string => text.replace(/([:\\])/g, '\\$1');

/** The function that completes a command: `_immich-backup-agent_drive_trust`. */
const functionName = (name: string, command: CompletionCommand): string =>
  [`_${name}`, ...command.path].join('_');

/** One option as _arguments specs: its spellings exclude each other, its value's action. */
function optionSpecs(option: CompletionOption): string[] {
  const exclusive = option.names.length > 1 ? `(${option.names.join(' ')})` : '';
  const repeat = option.repeatable ? '*' : '';
  let value = '';
  if (option.value) {
    const message = escaped(option.placeholder || 'value');
    const action =
      option.value.kind === 'choices'
        ? `(${option.value.choices.join(' ')})`
        : option.value.kind === 'file'
          ? '_files'
          : option.value.kind === 'directory'
            ? '_files -/'
            : ' ';
    value = `:${message}:${action}`;
  }
  return option.names.map((spelling) => {
    // A long option's value may be joined (--app-dir=DIR) or the next word.
    const joined = option.value && spelling.startsWith('--') ? '=' : '';
    return quoted(
      `${repeat || exclusive}${spelling}${joined}[${explained(option.description)}]${value}`,
    );
  });
}

/** The function of one command, and those of its subcommands after it. */
function commandFunction(name: string, command: CompletionCommand): string[] {
  const specs = command.options.flatMap(optionSpecs);
  const lines = [`${functionName(name, command)}() {`];
  if (command.commands.length === 0) {
    lines.push(`    _arguments -s ${specs.join(' \\\n        ')}`, '}', '');
    return lines;
  }
  lines.push(
    '    local curcontext="$curcontext" state line',
    '    typeset -A opt_args',
    `    _arguments -C -s ${[...specs, quoted('1: :->command'), quoted('*:: :->argument')].join(' \\\n        ')}`,
    '    case $state in',
    '    command)',
    '        local -a commands=(',
    ...command.commands.map(
      (sub) => `            ${quoted(`${escaped(sub.path.at(-1) ?? '')}:${sub.description}`)}`,
    ),
    '        )',
    `        _describe -t commands ${quoted(`${[name, ...command.path].join(' ')} command`)} commands`,
    '        ;;',
    '    argument)',
    '        case $line[1] in',
    ...command.commands.map((sub) => `        ${sub.path.at(-1)}) ${functionName(name, sub)} ;;`),
    '        esac',
    '        ;;',
    '    esac',
    '}',
    '',
  );
  return [...lines, ...command.commands.flatMap((sub) => commandFunction(name, sub))];
}

/**
 * The zsh completion script (autoloaded from vendor-completions by its `#compdef` line): one
 * function per command, each an `_arguments` of its options, dispatching to its subcommands'.
 */
export function zshCompletion(program: CompletionCommand, name: string): string {
  return [
    `#compdef ${name}`,
    `# zsh completion for ${name}. Generated from its command definitions (src/cli/program.ts)`,
    '# by scripts/package.ts; do not edit.',
    '',
    ...commandFunction(name, program),
    `${functionName(name, program)} "$@"`,
    '',
  ].join('\n');
}
