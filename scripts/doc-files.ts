/** Where the docs are, and what the man page is rendered from, read from a checkout or package. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildProgram } from '../src/cli/program.js';
import type { ManPageSources } from './man-page.js';

/** The docs, relative to the repository's root. */
export const docFiles = {
  readme: 'README.md',
  changelog: 'CHANGELOG.md',
  howItWorks: 'docs/how-it-works.md',
  commands: 'docs/commands.md',
  configuration: 'docs/configuration.md',
  errors: 'docs/errors.md',
  driveLayout: 'docs/drive-layout.md',
  restore: 'docs/restore.md',
  development: 'docs/development.md',
} as const;

export async function readManPageSources(root: string): Promise<ManPageSources> {
  const read = (file: string): Promise<string> => readFile(path.join(root, file), 'utf8');
  const { version } = JSON.parse(await read('package.json')) as { version: string };
  return {
    program: buildProgram(),
    version,
    readme: await read(docFiles.readme),
    commands: await read(docFiles.commands),
    configuration: await read(docFiles.configuration),
    errors: await read(docFiles.errors),
  };
}
