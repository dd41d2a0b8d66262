import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/atomic-files.js';

/**
 * A note in the state folder about something a run changed and must put back (the server it
 * stopped, the drive it mounted). Written before or right after the change, removed once it is
 * undone; if the run dies without its `finally` (SIGKILL, power cut), the note is still there for
 * the next run, the daemon or `recover`.
 */
export interface Note<T> {
  write(entry: T): Promise<void>;
  read(): Promise<T | null>;
  clear(): Promise<void>;
}

export function createNote<T>(stateDir: string, fileName: string): Note<T> {
  const file = path.join(stateDir, fileName);
  return {
    async write(entry) {
      await mkdir(stateDir, { recursive: true, mode: 0o755 });
      await writeFileAtomic(file, JSON.stringify(entry) + '\n');
    },
    async read() {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as T;
      } catch {
        return null;
      }
    },
    async clear() {
      await rm(file, { force: true });
    },
  };
}

/** A drive a run mounted and has not unmounted yet. */
export interface MountedDrive {
  uuid: string;
  device: string;
  mountPoint: string;
  runId: string;
}

export function createMountNote(stateDir: string): Note<MountedDrive> {
  return createNote<MountedDrive>(stateDir, 'drive-mounted.json');
}
