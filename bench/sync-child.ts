/**
 * The agent's sync step alone (the rsync adapter with the agent's flags and progress parsing):
 * node --import tsx bench/sync-child.ts SOURCE DESTINATION resumable|plain. Prints { ms, transferredFiles }.
 */
import { pino } from 'pino';
import { createProcessGateway } from '../src/adapters/process.js';
import { syncLibrary } from '../src/adapters/rsync.js';

const [source, destination, mode] = process.argv.slice(2) as [string, string, string];
let updates = 0;
const started = performance.now();
const result = await syncLibrary(
  createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] }),
  {
    source,
    destination,
    filesystemType: 'ext4',
    timeoutMs: 3_600_000,
    // As the agent decides: resumable for a big copy, not for an unchanged library.
    resumable: mode === 'resumable',
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
