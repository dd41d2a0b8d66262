import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import { stateFolder } from '../layout/state-folder.js';

/**
 * A note in the state folder about something a run is doing or has changed and must put back
 * (the server it stopped, the drive it mounted, the step it is in). Written before or right after
 * the change, removed once it is undone; if the run dies without its `finally` (SIGKILL, a power
 * cut), the note is still there for the next run, the daemon or `recover`.
 */
export interface Note<T> {
  write(entry: T): Promise<void>;
  read(): Promise<T | null>;
  clear(): Promise<void>;
}

function createNote<T>(file: string): Note<T> {
  return {
    async write(entry) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
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

/** Written before the server is stopped, removed once it runs again. */
export interface StoppedServer {
  container: string;
  runId: string;
  pid: number;
  stoppedAt: string;
}

/** A drive a run mounted and has not unmounted yet. */
export interface MountedDrive {
  uuid: string;
  device: string;
  mountPoint: string;
  runId: string;
}

/**
 * What `status` shows about a run in progress, replaced at every step. It is only believed while
 * the run lock's owner is alive (a killed run leaves it behind, and recovery records that run).
 */
export interface RunProgress {
  runId: string;
  trigger: string;
  pid: number;
  startedAt: string;
  step: string;
  stepStartedAt: string;
  /** How far the step is, in words: "42%, 3.1 GB, 35 MB/s, 12m left". */
  detail?: string;
}

export interface StateNotes {
  serverStopped: Note<StoppedServer>;
  driveMounted: Note<MountedDrive>;
  progress: Note<RunProgress>;
}

export function stateNotes(stateDir: string): StateNotes {
  const folder = stateFolder(stateDir);
  return {
    serverStopped: createNote<StoppedServer>(folder.serverStoppedFile),
    driveMounted: createNote<MountedDrive>(folder.driveMountedFile),
    progress: createNote<RunProgress>(folder.progressFile),
  };
}
