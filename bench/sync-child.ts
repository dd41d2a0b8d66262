/**
 * The agent's sync step alone, as the run does it (src/run/steps/sync-library.ts): the originals
 * with itemized changes and replaced copies kept in versions/<date>/, then Immich's regenerable
 * folders, then the size of what was versioned and of versions/ in all; the agent's flags and
 * progress parsing. node --import tsx bench/sync-child.ts SOURCE DESTINATION resumable|plain
 * [sync]. Prints { ms, transferredFiles }; with "sync", the time runs until the data is on the
 * drive (sync(1)), as the reference's does. Node's start is not in the time: the step is.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pino } from 'pino';
import { createProcessGateway } from '../src/adapters/process.js';
import { syncLibrary } from '../src/adapters/rsync.js';
import { folderSize } from '../src/files/folder-size.js';

const [source, destination, mode, flush] = process.argv.slice(2) as [
  string,
  string,
  string,
  string | undefined,
];
// versions.exempt's default.
const exempt = ['thumbs', 'encoded-video'];
const versions = path.join(path.dirname(destination), 'versions-bench');
const versionsDir = path.join(versions, new Date().toISOString().slice(0, 10));
let updates = 0;
const gateway = createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] });
const started = performance.now();
const base = {
  source,
  destination,
  filesystemType: 'ext4',
  timeoutMs: 3_600_000,
  // As the agent decides: resumable for a big copy, not for an unchanged library.
  resumable: mode === 'resumable',
  onProgress: () => (updates += 1),
};
const originals = await syncLibrary(gateway, {
  ...base,
  excludeFolders: exempt,
  itemize: true,
  replacedFilesDir: versionsDir,
});
const regenerable = await syncLibrary(gateway, { ...base, onlyFolders: exempt });
await folderSize(versionsDir);
await folderSize(versions);
if (flush === 'sync') execFileSync('sync');
console.log(
  JSON.stringify({
    ms: performance.now() - started,
    transferredFiles: originals.transferredFiles + regenerable.transferredFiles,
    progressUpdates: updates,
  }),
);
