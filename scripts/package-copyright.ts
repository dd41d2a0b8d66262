/**
 * /usr/share/doc/immich-backup-agent/copyright for the Debian package: the agent's licence, then
 * the licence of everything the package carries inside its two agent files, as their texts
 * (Debian asks for every licence's text): the agent's production dependencies (what the bundle
 * is made from; npm ls, no network) and the Node.js the single executable is a copy of.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const mitText = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

/** A licence file's text in a package folder (LICENSE, LICENSE.md, licence, …), or null. */
async function licenceText(folder: string): Promise<string | null> {
  const name = (await readdir(folder)).find((file) => /^licen[cs]e(\.md|\.txt)?$/i.test(file));
  return name ? (await readFile(path.join(folder, name), 'utf8')).trim() : null;
}

/** Node's licence (with its bundled components'), where this build's Node has it. */
async function nodeLicence(): Promise<string> {
  const candidates = [
    path.resolve(path.dirname(process.execPath), '../share/doc/nodejs/LICENSE'),
    path.resolve(path.dirname(process.execPath), '../LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
  ];
  const found = candidates.find((file) => existsSync(file));
  if (!found)
    throw new Error(
      `Node's LICENSE is in none of ${candidates.join(', ')}: the package must carry it.`,
    );
  return (await readFile(found, 'utf8')).trim();
}

/** Indented as a Debian control-style continuation: blank lines become " .". */
const indented = (text: string): string =>
  text
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line}`))
    .join('\n');

export async function copyrightFile(repoRoot: string, version: string): Promise<string> {
  const listed = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: repoRoot,
    reject: false,
  });
  const folders = String(listed.stdout)
    .split('\n')
    .filter((folder) => folder && folder !== repoRoot);
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const folder of folders.sort()) {
    const manifest = JSON.parse(await readFile(path.join(folder, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: string;
    };
    const id = `${manifest.name}@${manifest.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const text = await licenceText(folder);
    parts.push(
      `Files: npm package ${id}\nLicense: ${manifest.license ?? 'see its text'}\n${indented(text ?? `(${id} ships no licence file; its package.json says: ${manifest.license ?? 'nothing'})`)}`,
    );
  }
  return [
    `immich-backup-agent ${version}, packaged for Debian by its own build (scripts/package.ts).`,
    '',
    'Files: *',
    'Copyright: immich-backup-agent contributors',
    'License: MIT',
    indented(mitText),
    '',
    '/usr/bin/immich-backup-agent is Node.js with the agent inside it, and both it and',
    '/usr/lib/immich-backup-agent/immich-backup-agent.mjs hold the agent bundled with its',
    'production dependencies (of which the bundle takes the modules the agent uses). Their',
    'licences follow.',
    '',
    `Files: Node.js ${process.version} (usr/bin/immich-backup-agent)`,
    'Copyright: Node.js contributors and the authors of the components it bundles',
    'License: MIT and the licences of its components, as in its LICENSE file:',
    indented(await nodeLicence()),
    '',
    parts.join('\n\n'),
    '',
  ].join('\n');
}
