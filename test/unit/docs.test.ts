import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { listConfigKeys } from '../../src/config/reference.js';
import { configSchema } from '../../src/config/schema.js';
import { repoRoot } from '../env/cli.js';

const keys = listConfigKeys();

test('the schema has a description for every key', () => {
  assert.ok(keys.length >= 19);
  for (const key of keys) assert.ok(key.description.length > 10, `${key.path} has a description`);
});

test('the README’s configuration reference names every key of the schema, with its default', async () => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  for (const key of keys) {
    const row = readme
      .split('\n')
      .find((line) =>
        new RegExp(`^\\|\\s*\`${key.path.replace(/\./g, '\\.')}\`\\s*\\|`).test(line),
      );
    assert.ok(row, `README has a row for ${key.path}`);
    if (key.defaultValue !== null && !Array.isArray(JSON.parse(key.defaultValue))) {
      const shown = String(JSON.parse(key.defaultValue) as unknown);
      assert.ok(row.includes(`\`${shown}\``), `README shows the default of ${key.path} (${shown})`);
    }
  }
});

test('the example configuration parses and shows every key', async () => {
  const example = parse(
    await readFile(path.join(repoRoot, 'config.example.yml'), 'utf8'),
  ) as Record<string, unknown>;
  assert.equal(configSchema.safeParse(example).success, true);
  for (const key of keys) {
    const value = key.path
      .split('.')
      .reduce<unknown>(
        (node, part) => (node as Record<string, unknown> | undefined)?.[part],
        example,
      );
    assert.notEqual(value, undefined, `config.example.yml sets ${key.path}`);
  }
});
