/**
 * The mass-change guard's measuring alone (the dry runs a run makes before stopping Immich):
 * node --import tsx bench/guard-child.ts LIBRARY FILES_DIR. Prints { ms }.
 */
import { pino } from 'pino';
import { createProcessGateway } from '../src/adapters/process.js';
import { syncLibrary } from '../src/adapters/rsync.js';

const [source, destination] = process.argv.slice(2) as [string, string];
const gateway = createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] });
const base = { source, destination, filesystemType: 'ext4', timeoutMs: 3_600_000 };
const exempt = ['thumbs', 'encoded-video'];
const started = performance.now();
await syncLibrary(
  gateway,
  { ...base, excludeFolders: exempt, itemize: true, countMissing: true },
  true,
);
await syncLibrary(gateway, { ...base, onlyFolders: exempt }, true);
console.log(JSON.stringify({ ms: performance.now() - started }));
