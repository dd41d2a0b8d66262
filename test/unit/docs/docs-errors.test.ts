import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { errorRows, exitRows } from '../../../scripts/man-page.js';
import { docFiles } from '../../../scripts/doc-files.js';
import { errorCodes } from '../../../src/errors.js';
import { exitCodes } from '../../../src/exit-codes.js';
import { repoRoot } from '../../env/cli.js';

const errors = await readFile(path.join(repoRoot, docFiles.errors), 'utf8');

test('the error table in docs/errors.md names every error code', () => {
  for (const code of errorCodes)
    assert.match(errors, new RegExp(`^\\| \`${code}\` +\\|`, 'm'), `${code} is explained`);
});

test('the error table in docs/errors.md names only codes the agent has, each once, with what to do', () => {
  const rows = errorRows(errors);
  assert.deepEqual(
    rows.map(([code]) => code).sort(),
    [...errorCodes].sort(),
    'one row per code of src/errors.ts',
  );
  for (const [code, happened, todo] of rows) {
    assert.ok(happened && happened.length > 5, `${code} says what happened`);
    assert.ok(todo && todo.length > 5, `${code} says what to do`);
  }
});

test('the exit-code table in docs/errors.md has exactly the exit codes of src/exit-codes.ts', () => {
  assert.deepEqual(
    exitRows(errors)
      .map(([code]) => Number(code))
      .sort((a, b) => a - b),
    [...new Set(Object.values(exitCodes))].sort((a, b) => a - b),
  );
});
