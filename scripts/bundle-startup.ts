/**
 * `node dist/scripts/bundle-startup.js [runs]`: how long `--version` takes from the bundle and
 * from the built files (`node dist/src/cli/main.js`), measured side by side: the two alternate,
 * one run each in turn, so a busy moment of the machine falls on both alike. Prints figures; it
 * asserts nothing (timings are the machine's, not the code's); Node starting with nothing to load is
 * measured too, as the floor. Run `npm run bundle` first.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFile } from './bundle.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runs = Number(process.argv[2] ?? 20);
const candidates = [
  { name: 'bundle', args: [bundleFile, '--version'] },
  {
    name: 'dist/src/cli/main.js',
    args: [path.join(repoRoot, 'dist/src/cli/main.js'), '--version'],
  },
  // Node alone, loading nothing: what no bundling can take away.
  { name: 'node -e ""', args: ['-e', ''] },
];

const timings = new Map<string, number[]>(candidates.map((candidate) => [candidate.name, []]));
// One of each first, not counted: the files come into the page cache.
for (const candidate of candidates) execFileSync(process.execPath, candidate.args);
for (let run = 0; run < runs; run += 1) {
  for (const candidate of candidates) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, candidate.args);
    timings.get(candidate.name)?.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}

const milliseconds = (value: number): string => `${value.toFixed(0)} ms`;
process.stdout.write(`--version, ${runs} runs each, alternated (node ${process.version}):\n`);
for (const [name, values] of timings) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  process.stdout.write(
    `  ${name.padEnd(22)} median ${milliseconds(median)}, mean ${milliseconds(mean)}, min ${milliseconds(sorted[0] ?? 0)}, max ${milliseconds(sorted.at(-1) ?? 0)}\n`,
  );
}
