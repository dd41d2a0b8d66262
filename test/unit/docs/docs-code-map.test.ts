import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { docFiles } from '../../../scripts/doc-files.js';
import { repoRoot } from '../../env/cli.js';

const development = await readFile(path.join(repoRoot, docFiles.development), 'utf8');
const codeMapStart = development.indexOf('\n## Code map\n');
const codeMap = development.slice(codeMapStart, development.indexOf('\n## ', codeMapStart + 1));

/** Every folder under src/, as `src/…/`. */
async function sourceFolders(folder = 'src'): Promise<string[]> {
  const found = [`${folder}/`];
  for (const entry of await readdir(path.join(repoRoot, folder), { withFileTypes: true }))
    if (entry.isDirectory()) found.push(...(await sourceFolders(`${folder}/${entry.name}`)));
  return found;
}

/** The paths the code map names in code spans: `src/run/`, `src/run/run-backup.ts`. */
const named = [...codeMap.matchAll(/`(src\/[^`\s]*)`/g)].map((match) => match[1] as string);

test('the code map in docs/development.md has a line for every folder of src/', async () => {
  assert.ok(codeMapStart >= 0, 'docs/development.md has a Code map section');
  for (const folder of await sourceFolders())
    assert.match(
      codeMap,
      new RegExp(`^\\s*- \`${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`:`, 'm'),
      `${folder} has its line in the code map`,
    );
});

test('every folder and file the code map names exists', async () => {
  assert.ok(named.length > 20);
  for (const entry of named) {
    const full = path.join(repoRoot, entry);
    assert.ok(existsSync(full), `${entry} exists`);
    assert.equal((await stat(full)).isDirectory(), entry.endsWith('/'), `${entry} is what it says`);
  }
});
