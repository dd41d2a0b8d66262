import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  commandBlocks,
  globalBlockName,
  handWrittenPart,
  listCommands,
  renderCommandMarkdown,
  renderGlobalOptionsMarkdown,
  withCommandReference,
} from '../../../scripts/command-reference.js';
import { docFiles } from '../../../scripts/doc-files.js';
import { buildProgram } from '../../../src/cli/program.js';
import { repoRoot } from '../../env/cli.js';

const program = buildProgram();
const commands = await readFile(path.join(repoRoot, docFiles.commands), 'utf8');

/** Generated Markdown compares line by line, table cells whatever Prettier did to the padding. */
const normalized = (text: string): string[] =>
  text
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line.replace(/\s*\|\s*/g, '|').replace(/-{3,}/g, '---')
        : line.trimEnd(),
    )
    .filter((line) => line !== '');

test('docs/commands.md has a generated block for every command and subcommand, and for no other', () => {
  assert.deepEqual(
    [...commandBlocks(commands).keys()].sort(),
    [globalBlockName, ...listCommands(program).map((entry) => entry.name)].sort(),
    'run `npm run docs`: it adds a block for a new command; remove the block of one that is gone',
  );
});

test('every block in docs/commands.md is the one rendered from the program (npm run docs)', () => {
  const blocks = commandBlocks(commands);
  assert.deepEqual(
    normalized(blocks.get(globalBlockName) ?? ''),
    normalized(renderGlobalOptionsMarkdown(program)),
    'the global options: run `npm run docs`',
  );
  for (const entry of listCommands(program)) {
    assert.deepEqual(
      normalized(blocks.get(entry.name) ?? ''),
      normalized(renderCommandMarkdown(program.name(), entry)),
      `${entry.name}: run \`npm run docs\``,
    );
  }
});

test('docs/commands.md names every option of every command, with something written about each command', () => {
  for (const entry of listCommands(program)) {
    for (const option of entry.command.options)
      assert.ok(
        commands.includes(`\`${option.flags}\``),
        `${entry.name} ${option.flags} is in docs/commands.md`,
      );
    assert.ok(
      handWrittenPart(commands, entry.name).length > 20,
      `docs/commands.md says more about ${entry.name} after its generated block`,
    );
  }
});

test('rendering docs/commands.md again changes nothing but padding', () => {
  assert.deepEqual(normalized(withCommandReference(commands, program)), normalized(commands));
});

test('a command without a block gets one at the end, and one with a block keeps its text', () => {
  const text = withCommandReference('# Commands\n\nNothing yet.\n', program);
  const blocks = commandBlocks(text);
  assert.equal(blocks.size, listCommands(program).length + 1);
  assert.match(text, /^Nothing yet\.$/m);
  assert.match(text, /^## `config validate`$/m);
});
