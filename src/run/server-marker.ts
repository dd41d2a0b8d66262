import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/atomic-files.js';

/** Written before the server is stopped, removed once it runs again. */
export interface StoppedServer {
  container: string;
  runId: string;
  pid: number;
  stoppedAt: string;
}

/**
 * The note a run leaves while the Immich server is stopped. If the run dies without its
 * `finally` (SIGKILL, power cut), the note is still there and the next run, the daemon or
 * `recover` starts the server again.
 */
export interface ServerMarker {
  write(entry: StoppedServer): Promise<void>;
  read(): Promise<StoppedServer | null>;
  clear(): Promise<void>;
}

export function createServerMarker(stateDir: string): ServerMarker {
  const file = path.join(stateDir, 'server-stopped.json');
  return {
    async write(entry) {
      await mkdir(stateDir, { recursive: true, mode: 0o755 });
      await writeFileAtomic(file, JSON.stringify(entry) + '\n');
    },
    async read() {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as StoppedServer;
      } catch {
        return null;
      }
    },
    async clear() {
      await rm(file, { force: true });
    },
  };
}
