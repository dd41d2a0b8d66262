/**
 * The agent's sync step alone (the rsync adapter with the agent's flags and progress parsing):
 * node --import tsx bench/sync-child.ts SOURCE DESTINATION resumable|plain [sync]. Prints
 * { ms, transferredFiles }; with "sync", the time runs until the data is on the drive (sync(1)),
 * as the reference's does. Node's start is not in the time: the step is.
 */
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { createProcessGateway } from '../src/adapters/process.js';
import { syncLibrary } from '../src/adapters/rsync.js';

const [source, destination, mode, flush] = process.argv.slice(2) as [
  string,
  string,
  string,
  string | undefined,
];
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
if (flush === 'sync') execFileSync('sync');
console.log(
  JSON.stringify({
    ms: performance.now() - started,
    transferredFiles: result.transferredFiles,
    progressUpdates: updates,
  }),
);
