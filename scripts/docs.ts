/** Writes the README's configuration reference from the schema: `npm run docs`. */
import { readFile, writeFile } from 'node:fs/promises';
import { withConfigReference } from '../src/config/reference.js';

const readme = new URL('../README.md', import.meta.url);
await writeFile(readme, withConfigReference(await readFile(readme, 'utf8')));
console.log('README.md: configuration reference updated from the schema.');
