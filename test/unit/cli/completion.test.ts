import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import { allCommands, readCommand, type CompletionCommand } from '../../../src/cli/completion.js';
import { bashCompletion } from '../../../src/cli/completion-bash.js';
import { zshCompletion } from '../../../src/cli/completion-zsh.js';

const name = 'immich-backup-agent';

/** Every command of the program as commander holds it, with its path of words. */
function commanderCommands(command: Command, words: string[] = []): [string[], Command][] {
  return [
    [words, command],
    ...command.commands.flatMap((sub) => commanderCommands(sub, [...words, sub.name()])),
  ];
}

describe('shell completion generated from the command definitions', () => {
  const program = buildProgram();
  const model = readCommand(program);
  const bash = bashCompletion(model, name);
  const zsh = zshCompletion(model, name);
  let folder = '';
  let script = '';

  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'iba-completion-'));
    script = path.join(folder, name);
    await writeFile(script, bash);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('the model holds every command and every spelling of every option of the program', () => {
    const byPath = new Map(allCommands(model).map((command) => [command.path.join(' '), command]));
    const all = commanderCommands(program);
    assert.ok(all.length > 10, 'the program has its commands');
    for (const [words, command] of all) {
      const found = byPath.get(words.join(' ')) as CompletionCommand;
      assert.ok(found, `command "${words.join(' ')}"`);
      const spellings = found.options.flatMap((option) => option.names);
      for (const option of command.options) {
        for (const spelling of [option.short, option.long].filter(Boolean))
          assert.ok(spellings.includes(spelling as string), `${words.join(' ')} ${spelling}`);
      }
    }
    assert.equal(byPath.size, all.length, 'and nothing the program does not have');
  });

  test('both scripts name every command and every option', () => {
    for (const command of allCommands(model)) {
      const word = command.path.at(-1);
      if (word) {
        assert.ok(bash.includes(word), `bash: ${command.path.join(' ')}`);
        assert.ok(zsh.includes(`${word}:`), `zsh: ${command.path.join(' ')}`);
      }
      for (const spelling of command.options.flatMap((option) => option.names)) {
        assert.ok(bash.includes(spelling), `bash: ${command.path.join(' ')} ${spelling}`);
        assert.ok(zsh.includes(`${spelling}`), `zsh: ${command.path.join(' ')} ${spelling}`);
      }
    }
  });

  /** What bash's completion function offers after the words typed (the last one being typed). */
  async function complete(line: string): Promise<string[]> {
    const result = await execa('bash', [
      '-c',
      'source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _immich_backup_agent; printf "%s\\n" "${COMPREPLY[@]}"',
      '_',
      script,
      `${name} ${line}`,
    ]);
    return result.stdout.split('\n').filter(Boolean).sort();
  }

  test('bash registers the function for the command (complete -p)', async () => {
    const result = await execa('bash', [
      '-c',
      'source "$1" && complete -p "$2"',
      '_',
      script,
      name,
    ]);
    assert.equal(result.stdout.trim(), `complete -o default -F _immich_backup_agent ${name}`);
  });

  test('bash offers the commands, a command’s options, its choices and nested commands', async () => {
    const top = model.commands.map((command) => command.path[0] as string).sort();
    assert.deepEqual(await complete(''), top);
    assert.deepEqual(await complete('ru'), ['run']);
    assert.deepEqual(await complete('run --d'), ['--device', '--drive', '--dry-run']);
    assert.deepEqual(await complete('run --trigger '), ['hotplug', 'manual', 'schedule']);
    assert.deepEqual(await complete('--config /etc/x.yml config '), ['print', 'validate']);
    assert.deepEqual(await complete('drive trust --uuid 1234 --'), [
      '--config',
      '--dry-run',
      '--help',
      '--uuid',
    ]);
    assert.deepEqual(await complete('log -n 5 --j'), ['--json']);
  });

  test('bash completes folders after an option whose value is a folder', async () => {
    const inside = path.join(folder, 'immich app');
    await execa('mkdir', ['-p', inside]);
    assert.deepEqual(await complete(`install --app-dir ${path.join(folder, 'imm')}`), [inside]);
  });

  test('zsh reads the script and binds it to the command', async (context) => {
    const zshPath = await execa('sh', ['-c', 'command -v zsh'], { reject: false });
    if (zshPath.exitCode !== 0) {
      context.skip('zsh is not installed here (apt-get install zsh)');
      return;
    }
    await writeFile(path.join(folder, `_${name}`), zsh);
    const result = await execa('zsh', [
      '-f',
      '-c',
      'zsh -n "$1/_$2" && fpath=("$1" $fpath) && autoload -Uz compinit && compinit -u -d "$1/.zcompdump" && print -r -- "$_comps[$2]"',
      '_',
      folder,
      name,
    ]);
    assert.equal(result.stdout.trim(), `_${name}`);
  });
});
