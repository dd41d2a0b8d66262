import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { anchor } from '../../../scripts/command-reference.js';
import { docFiles } from '../../../scripts/doc-files.js';
import { repoRoot } from '../../env/cli.js';
import { readmeSed } from '../../env/immich-database.js';

const read = (file: string): Promise<string> => readFile(path.join(repoRoot, file), 'utf8');
const readme = await read(docFiles.readme);
const markdownFiles = [
  docFiles.readme,
  docFiles.changelog,
  ...(await readdir(path.join(repoRoot, 'docs')))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

test('the README is what a user reads first: at most 12 KB', () => {
  const bytes = Buffer.byteLength(readme);
  assert.ok(bytes <= 12_000, `README.md is ${bytes} bytes`);
});

test('the README’s quick start uses only the two commands and the scripts that exist', async () => {
  const packageJson = JSON.parse(await read('package.json')) as {
    scripts: Record<string, string>;
  };
  assert.ok(packageJson.scripts.demo && packageJson.scripts.test);
  const start = readme.indexOf('## Quick start');
  const quickStart = readme.slice(start, readme.indexOf('\n## ', start + 1));
  // Exactly two: the main job (the demo runs `immich-backup-agent run`) and the tests.
  assert.deepEqual(quickStart.match(/```sh\n[^`]*```/g), [
    '```sh\nnpm run demo\n```',
    '```sh\nnpm test\n```',
  ]);
  assert.match(quickStart, /immich-backup-agent --config .* run/);
});

test('the README links to every page of docs/ and to the changelog', () => {
  for (const file of Object.values(docFiles).filter((name) => name !== docFiles.readme))
    assert.ok(readme.includes(`](${file})`), `README.md links to ${file}`);
});

test('every link between the docs leads to a file that exists, and to a heading it has', async () => {
  for (const file of markdownFiles) {
    const text = await read(file);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/.test(target)) continue;
      const [relative, fragment] = target.split('#') as [string, string | undefined];
      const linked = relative ? path.join(path.dirname(file), relative) : file;
      assert.ok(existsSync(path.join(repoRoot, linked)), `${file}: ${target} exists`);
      if (fragment === undefined) continue;
      const headings = (await read(linked)).match(/^#{1,6} .*$/gm) ?? [];
      assert.ok(
        headings.some((heading) => anchor(heading.replace(/^#+ /, '')) === fragment),
        `${file}: ${target} is a heading of ${linked}`,
      );
    }
  }
});

test('the restore without the agent is the same snippet in the README and in docs/restore.md, with the sed the tests restore with', async () => {
  const snippet = (text: string): string | undefined =>
    text.match(/```sh\n(?:(?!```)[\s\S])*\| sed "(?:(?!```)[\s\S])*```/)?.[0];
  const inReadme = snippet(readme);
  assert.ok(inReadme, 'the README has the snippet');
  assert.equal(snippet(await read(docFiles.restore)), inReadme);
  assert.match(
    await readmeSed(),
    /^0,\/\^SELECT pg_catalog\.set_config\('search_path', '', false\);\$\//,
  );
});
