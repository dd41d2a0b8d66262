import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { AgentError, type ErrorCode } from '../../../src/errors.js';
import { repoRoot } from '../../env/cli.js';

/**
 * What the configuration tests share: a folder of their own for config files and Immich app
 * folders (made before the file's tests, removed after), and the checks they make.
 */
export const fixtures = path.join(repoRoot, 'test/fixtures/immich');
export const uuid = '3f1c9a2e-8d4b-4f5a-9c1e-2b7d6e8f0a1b';

let root: string;

/** The folder of this file's tests (made in before()). */
export const testRoot = (): string => root;

/** Writes a config file the way the agent expects it: root-owned, mode 0600. */
export async function writeConfig(content: unknown, mode = 0o600): Promise<string> {
  const folder = await mkdtemp(path.join(root, 'config-'));
  const file = path.join(folder, 'config.yml');
  await writeFile(file, typeof content === 'string' ? content : stringify(content), {
    mode: 0o600,
  });
  await chmod(file, mode);
  return file;
}

/** An Immich app folder holding the real compose file and the given .env text (or the real one). */
export async function immichApp(envText?: string): Promise<string> {
  const folder = await mkdtemp(path.join(root, 'immich-app-'));
  await copyFile(
    path.join(fixtures, 'immich-docker-compose.yml'),
    path.join(folder, 'docker-compose.yml'),
  );
  if (envText === undefined) {
    await copyFile(path.join(fixtures, 'immich-example.env'), path.join(folder, '.env'));
  } else {
    await writeFile(path.join(folder, '.env'), envText, { mode: 0o600 });
  }
  return folder;
}

/** Loads and expects an AgentError with this code; returns it for more checks. */
export async function loadFails(file: string, code: ErrorCode): Promise<AgentError> {
  try {
    await loadConfig(file);
  } catch (error) {
    assert.ok(error instanceof AgentError, `an AgentError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.step, 'config');
    return error;
  }
  assert.fail(`${file} was accepted`);
}

export const issuesOf = (error: AgentError): ConfigIssue[] => error.details.issues as ConfigIssue[];
export const issuePaths = (error: AgentError): string[] =>
  issuesOf(error).map((issue) => issue.path);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'load-config-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
