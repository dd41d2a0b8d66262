/**
 * The agent's dump step alone, in a process of its own, so its peak memory can be read:
 * node --import tsx bench/dump-child.ts CONTAINER FILE. Prints one JSON line:
 * { ms, bytes, maxRssMb }.
 */
import { createDockerAdapter } from '../src/adapters/docker.js';
import { dumpDatabase } from '../src/adapters/database-dump.js';

const [container, file] = process.argv.slice(2) as [string, string];
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
console.log(
  JSON.stringify({ ms, bytes: result.bytes, maxRssMb: process.resourceUsage().maxRSS / 1024 }),
);
