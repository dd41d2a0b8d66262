import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  listConfigKeys,
  referenceEnd,
  referenceStart,
  renderConfigReference,
} from '../../src/config/reference.js';
import { configSchema } from '../../src/config/schema.js';
import { errorCodes } from '../../src/errors.js';
import { repoRoot } from '../env/cli.js';

const keys = listConfigKeys();
const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');

/** Markdown tables compare by their cells, whatever Prettier did to the padding. */
const cells = (text: string): string[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.replace(/\s*\|\s*/g, '|').replace(/-{3,}/g, '---'));

test('the schema has a description for every key', () => {
  assert.ok(keys.length >= 25);
  for (const key of keys) assert.ok(key.description.length > 10, `${key.path} has a description`);
});

test('the README’s configuration reference is the one rendered from the schema (npm run docs)', () => {
  const start = readme.indexOf(referenceStart);
  const end = readme.indexOf(referenceEnd);
  assert.ok(start >= 0 && end > start, 'the README has the markers');
  assert.deepEqual(
    cells(readme.slice(start, end)),
    cells(renderConfigReference()),
    'run `npm run docs`',
  );
});

test('the README’s error table names every error code', () => {
  for (const code of errorCodes)
    assert.match(readme, new RegExp(`^\\| \`${code}\` +\\|`, 'm'), `${code} is explained`);
});

test('the example configuration parses and shows every key', async () => {
  const example = parse(
    await readFile(path.join(repoRoot, 'config.example.yml'), 'utf8'),
  ) as Record<string, unknown>;
  assert.equal(configSchema.safeParse(example).success, true);
  // `drives` is the alternative to drive.uuid: the example shows the single drive of the seed.
  for (const key of keys.filter((entry) => entry.path !== 'drives')) {
    const value = key.path
      .split('.')
      .reduce<unknown>(
        (node, part) => (node as Record<string, unknown> | undefined)?.[part],
        example,
      );
    assert.notEqual(value, undefined, `config.example.yml sets ${key.path}`);
  }
});

test('the README’s quick start uses only the two commands and the scripts that exist', async () => {
  const packageJson = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
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
