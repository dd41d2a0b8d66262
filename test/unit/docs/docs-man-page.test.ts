import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { listCommands } from '../../../scripts/command-reference.js';
import { readManPageSources } from '../../../scripts/doc-files.js';
import { manPageFile, renderManPage } from '../../../scripts/man-page.js';
import { listConfigKeys } from '../../../src/config/reference.js';
import { errorCodes } from '../../../src/errors.js';
import { exitCodes } from '../../../src/exit-codes.js';
import { repoRoot } from '../../env/cli.js';

const sources = await readManPageSources(repoRoot);
const file = path.join(repoRoot, manPageFile);
const manInstalled = (await execa('man', ['--version'], { reject: false })).exitCode === 0;

/** The page as `man` shows it, piped (so without the terminal's bold), with ASCII hyphens. */
async function shown(): Promise<{ text: string; warnings: string }> {
  const result = await execa('man', ['--warnings', '-l', file], {
    env: { MANWIDTH: '200', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' },
  });
  return {
    text: result.stdout.replace(/[\u2010\u2011\u2212]/g, '-'),
    warnings: result.stderr,
  };
}

test('the committed man page is the one rendered from the program, the schema and docs/ (npm run docs)', async () => {
  assert.equal(await readFile(file, 'utf8'), renderManPage(sources), 'run `npm run docs`');
});

test(
  'man shows the page without a warning, with the sections of a section-8 page',
  { skip: !manInstalled && 'man is not installed (apt-get install man-db groff-base)' },
  async () => {
    const { text, warnings } = await shown();
    assert.equal(warnings.trim(), '', 'groff has nothing to say about the page');
    assert.match(text, /^IMMICH-BACKUP-AGENT\(8\)/);
    const headings = text.split('\n').filter((line) => /^[A-Z][A-Z ]+$/.test(line));
    assert.deepEqual(headings, [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      'OPTIONS',
      'CONFIGURATION',
      'EXIT STATUS',
      'DIAGNOSTICS',
      'FILES',
      'ENVIRONMENT',
      'SEE ALSO',
    ]);
  },
);

test(
  'the man page shows every command with every option, every key, every exit code and every error code',
  { skip: !manInstalled && 'man is not installed (apt-get install man-db groff-base)' },
  async () => {
    const { text } = await shown();
    /** One section's text: from its heading to the next one. */
    const section = (name: string): string => {
      const start = text.indexOf(`\n${name}\n`);
      assert.ok(start >= 0, `the page has ${name}`);
      const rest = text.slice(start + name.length + 2);
      const end = rest.search(/^[A-Z][A-Z ]+$/m);
      return end < 0 ? rest : rest.slice(0, end);
    };
    const commands = section('COMMANDS');
    for (const entry of listCommands(sources.program)) {
      const start = commands.search(new RegExp(`^ {3}${entry.name}$`, 'm'));
      assert.ok(start >= 0, `${entry.name} has a subsection`);
      const own = commands.slice(start).split(/\n(?= {3}\S)/)[0] as string;
      for (const option of entry.command.options)
        assert.ok(own.includes(option.flags), `${entry.name}: ${option.flags} is shown`);
    }
    const options = section('OPTIONS');
    for (const option of sources.program.options)
      assert.ok(options.includes(option.flags), `the global ${option.flags} is shown`);
    const configuration = section('CONFIGURATION');
    for (const key of listConfigKeys())
      assert.match(
        configuration,
        new RegExp(`^ {7}${key.path.replaceAll('.', '\\.')}( |$)`, 'm'),
        `${key.path} is explained`,
      );
    const exitStatus = section('EXIT STATUS');
    for (const code of new Set(Object.values(exitCodes)))
      assert.match(exitStatus, new RegExp(`^ {7}${code} `, 'm'), `exit ${code} is explained`);
    const diagnostics = section('DIAGNOSTICS');
    for (const code of errorCodes)
      assert.match(diagnostics, new RegExp(`^ {7}${code}( |$)`, 'm'), `${code} is explained`);
    assert.match(section('FILES'), /\/usr\/local\/share\/man\/man8\/immich-backup-agent\.8/);
  },
);
