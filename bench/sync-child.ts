/**
 * The agent's sync step alone (the rsync adapter with the agent's flags and progress parsing):
 * node --import tsx bench/sync-child.ts SOURCE DESTINATION. Prints { ms, transferredFiles }.
 */
import { pino } from 'pino';
import { createProcessGateway } from '../src/adapters/process.js';
import { syncLibrary } from '../src/adapters/rsync.js';

const [source, destination] = process.argv.slice(2) as [string, string];
let updates = 0;
const started = performance.now();
const result = await syncLibrary(
  createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] }),
  {
    source,
    destination,
    filesystemType: 'ext4',
    timeoutMs: 3_600_000,
    onProgress: () => (updates += 1),
  },
);
console.log(
  JSON.stringify({
    ms: performance.now() - started,
    transferredFiles: result.transferredFiles,
    progressUpdates: updates,
  }),
);
