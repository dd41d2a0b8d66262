import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { repoRoot } from '../../env/cli.js';

const srcDir = path.join(repoRoot, 'src');

/** Every module of src/ and the modules of src/ it imports (type-only imports too). */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.ts')) {
        const text = await readFile(full, 'utf8');
        const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)].map(
          (match) =>
            path.relative(srcDir, path.resolve(path.dirname(full), `${match[1] as string}.ts`)),
        );
        graph.set(path.relative(srcDir, full), targets);
      }
    }
  };
  await walk(srcDir);
  return graph;
}

/** The cycles of the graph: its strongly connected components of more than one module. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1 || (graph.get(node) ?? []).includes(node))
        found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return found;
}

describe('the architecture of src/', () => {
  test('no module imports itself back, however long the way round (type imports too)', async () => {
    assert.deepEqual(cycles(await importGraph()), []);
  });

  test('the cycle finder finds a cycle when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    assert.deepEqual(cycles(graph), [['a.ts', 'b.ts', 'c.ts']]);
  });

  test('every module imports only modules that exist', async () => {
    const graph = await importGraph();
    const missing = [...graph].flatMap(([module, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${module} → ${target}`),
    );
    assert.deepEqual(missing, []);
  });

  test('lint refuses an import against the layers: cli/ from run/, run/ from restore/, adapters/ from history/', async () => {
    const { layerConfig } = (await import(
      pathToFileURL(path.join(repoRoot, 'eslint.config.js')).href
    )) as { layerConfig: Linter.Config[] };
    const eslint = new ESLint({
      cwd: repoRoot,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
        ...layerConfig,
      ],
    });
    const refused = async (file: string, code: string): Promise<string[]> =>
      (await eslint.lintText(code, { filePath: path.join(repoRoot, file) }))
        .flatMap((result) => result.messages)
        .map((message) => message.ruleId ?? message.message);
    for (const [file, code] of [
      ['src/run/x.ts', "import { buildProgram } from '../cli/program.js';"],
      ['src/restore/x.ts', "import type { StepContext } from '../run/context.js';"],
      ['src/history/x.ts', "import type { DockerAdapter } from '../adapters/docker.js';"],
      ['src/adapters/x.ts', "import type { RunRecord } from '../history/record.js';"],
      ['src/errors-x.ts', "import { buildProgram } from './cli/program.js';"],
    ] as const)
      assert.deepEqual(await refused(file, code), ['no-restricted-imports'], `${file}: ${code}`);
    assert.deepEqual(
      await refused('src/run/x.ts', "import { takeRunLock } from '../session/lock.js';"),
      [],
      'run/ may use session/',
    );
  });

  test('no file in src/ is longer than 250 lines', async () => {
    const long: string[] = [];
    for (const module of (await importGraph()).keys()) {
      const lines = (await readFile(path.join(srcDir, module), 'utf8')).split('\n').length - 1;
      if (lines > 250) long.push(`${module}: ${lines}`);
    }
    assert.deepEqual(long, []);
  });
});
