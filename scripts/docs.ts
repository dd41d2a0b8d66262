/**
 * `npm run docs`: writes what is generated from the code into the docs, and the man page from
 * both. docs/configuration.md's table comes from the schema, docs/commands.md's blocks from
 * buildProgram(), man/immich-backup-agent.8 from those and the docs' sentences. The docs tests
 * fail when a committed file differs from what this writes. Runs from dist/ (`npm run docs`
 * builds first), so the program is the one the agent runs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { buildProgram } from '../src/cli/program.js';
import { withConfigReference } from '../src/config/reference.js';
import { packageRoot as root } from '../src/package-files.js';
import { withCommandReference } from './command-reference.js';
import { docFiles, readManPageSources } from './doc-files.js';
import { manPageFile, renderManPage } from './man-page.js';

/** Writes a Markdown file as Prettier formats it, so `npm run lint` agrees with what was written. */
async function writeMarkdown(file: string, text: string): Promise<void> {
  const full = path.join(root, file);
  const options = await resolveConfig(full);
  await writeFile(full, await format(text, { ...options, filepath: full }));
}

const configuration = await readFile(path.join(root, docFiles.configuration), 'utf8');
await writeMarkdown(docFiles.configuration, withConfigReference(configuration));
console.log(`${docFiles.configuration}: configuration reference updated from the schema.`);

const commands = await readFile(path.join(root, docFiles.commands), 'utf8');
await writeMarkdown(docFiles.commands, withCommandReference(commands, buildProgram()));
console.log(`${docFiles.commands}: every command and option updated from the program.`);

// After the Markdown: the page carries the docs' sentences as they are now written.
await writeFile(path.join(root, manPageFile), renderManPage(await readManPageSources(root)));
console.log(`${manPageFile}: rendered from the program, the schema and docs/.`);
