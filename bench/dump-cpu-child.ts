/**
 * The agent's dump step alone, for bench/dump-cpu.ts:
 * node --import tsx bench/dump-cpu-child.ts CONTAINER FILE [CHECKOUT]. CHECKOUT (default: this
 * one) is the source tree whose dump code runs, so another checkout's can be measured in the same
 * run. Prints one JSON line: { ms, bytes, uncompressedBytes, cpuS, maxRssMb }.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [container, file, checkout] = process.argv.slice(2) as [string, string, string?];
const root = checkout ?? path.resolve(import.meta.dirname, '..');
type Dump = typeof import('../src/adapters/database-dump.js');
type Docker = typeof import('../src/adapters/docker.js');
const { dumpDatabase } = (await import(
  pathToFileURL(path.join(root, 'src/adapters/database-dump.ts')).href
)) as Dump;
const { createDockerAdapter } = (await import(
  pathToFileURL(path.join(root, 'src/adapters/docker.ts')).href
)) as Docker;
const usageBefore = process.cpuUsage();
const started = performance.now();
const result = await dumpDatabase(createDockerAdapter(), {
  container,
  user: 'postgres',
  database: 'immich',
  password: undefined,
  file,
  tag: `bench-${process.pid}`,
});
const ms = performance.now() - started;
const usage = process.cpuUsage(usageBefore);
console.log(
  JSON.stringify({
    ms,
    bytes: result.bytes,
    uncompressedBytes: result.uncompressedBytes,
    cpuS: (usage.user + usage.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
