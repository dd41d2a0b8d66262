import { allCommands, type CompletionCommand, type CompletionOption } from './completion.js';

/** A word in single quotes for bash: nothing in it is expanded. */
const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/** What the script offers for an option's value: choices, files, folders, or nothing. */
function valueAction(option: CompletionOption): string {
  switch (option.value?.kind) {
    case 'choices':
      return `words:${option.value.choices.join(' ')}`;
    case 'file':
      return 'file';
    case 'directory':
      return 'directory';
    default:
      return 'text';
  }
}

/** The program's options a command also takes (`run --config FILE`): not --help, --version. */
export function globalOptions(program: CompletionCommand): string[] {
  return program.options
    .map((option) => option.names)
    .filter((names) => !names.includes('--help') && !names.includes('--version'))
    .flat();
}

/**
 * The bash completion script (`complete -F`): tables of each command's subcommands and options,
 * keyed by "@" and the command's path ("@" for the program, "@drive trust"), and one function that walks
 * the words typed so far to the command they name, then offers that command's subcommands, its
 * options (with the program's own), or an option's value.
 */
export function bashCompletion(program: CompletionCommand, name: string): string {
  const commands = allCommands(program);
  // Keyed by "@" and the path (bash has no empty key): "@" the program, "@drive trust".
  const key = (command: CompletionCommand): string => quoted(`@${command.path.join(' ')}`);
  const lines = [
    `# bash completion for ${name}. Generated from its command definitions (src/cli/program.ts)`,
    '# by scripts/package.ts; do not edit.',
    '',
    `_${name.replaceAll('-', '_')}() {`,
    '    local -A subcommands=(',
    ...commands.map(
      (command) =>
        `        [${key(command)}]=${quoted(command.commands.map((sub) => sub.path.at(-1)).join(' '))}`,
    ),
    '    )',
    '    local -A options=(',
    ...commands.map(
      (command) =>
        `        [${key(command)}]=${quoted(command.options.flatMap((option) => option.names).join(' '))}`,
    ),
    '    )',
    '    # "@<command path>|<option>": what its value is (options without a value are not listed).',
    '    local -A values=(',
    ...commands.flatMap((command) =>
      command.options
        .filter((option) => option.value !== null)
        .flatMap((option) =>
          option.names.map(
            (optionName) =>
              `        [${quoted(`@${command.path.join(' ')}|${optionName}`)}]=${quoted(valueAction(option))}`,
          ),
        ),
    ),
    '    )',
    '    local cur=${COMP_WORDS[COMP_CWORD]} path="@" word value i',
    '    # The command the words so far name; an option that takes a value skips that value.',
    '    for ((i = 1; i < COMP_CWORD; i++)); do',
    '        word=${COMP_WORDS[i]}',
    '        if [[ -n ${values["$path|$word"]+set} || -n ${values["@|$word"]+set} ]]; then',
    '            ((i++))',
    '        elif [[ $word != -* ]]; then',
    '            for value in ${subcommands["$path"]}; do',
    '                if [[ $value == "$word" ]]; then',
    '                    [[ $path == @ ]] && path+=$word || path+=" $word"',
    '                    break',
    '                fi',
    '            done',
    '        fi',
    '    done',
    '    local previous=${COMP_WORDS[COMP_CWORD-1]}',
    '    value=${values["$path|$previous"]-${values["@|$previous"]-}}',
    '    if ((COMP_CWORD > 1)) && [[ -n $value ]]; then',
    '        case $value in',
    '            words:*) mapfile -t COMPREPLY < <(compgen -W "${value#words:}" -- "$cur") ;;',
    '            file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;',
    '            directory) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;',
    '            *) COMPREPLY=() ;;',
    '        esac',
    '        return 0',
    '    fi',
    '    if [[ $cur == -* ]]; then',
    '        local all="${options["$path"]}"',
    `        [[ $path != @ ]] && all+=${quoted(` ${globalOptions(program).join(' ')}`)}`,
    '        mapfile -t COMPREPLY < <(compgen -W "$all" -- "$cur")',
    '    else',
    '        mapfile -t COMPREPLY < <(compgen -W "${subcommands["$path"]}" -- "$cur")',
    '    fi',
    '    return 0',
    '}',
    `complete -o default -F _${name.replaceAll('-', '_')} ${name}`,
    '',
  ];
  return lines.join('\n');
}
