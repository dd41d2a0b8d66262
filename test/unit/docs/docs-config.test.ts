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
} from '../../../src/config/reference.js';
import { configSchema } from '../../../src/config/schema.js';
import { docFiles } from '../../../scripts/doc-files.js';
import { repoRoot } from '../../env/cli.js';

const keys = listConfigKeys();
const configuration = await readFile(path.join(repoRoot, docFiles.configuration), 'utf8');

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

test('the configuration reference in docs/configuration.md is the one rendered from the schema (npm run docs)', () => {
  const start = configuration.indexOf(referenceStart);
  const end = configuration.indexOf(referenceEnd);
  assert.ok(start >= 0 && end > start, 'docs/configuration.md has the markers');
  assert.deepEqual(
    cells(configuration.slice(start, end)),
    cells(renderConfigReference()),
    'run `npm run docs`',
  );
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
