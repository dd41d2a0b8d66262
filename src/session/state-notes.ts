import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import { readSmallRegularFile } from '../files/small-file.js';
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
      // Root's alone (0700/0600 whatever the umask): the notes name containers and drives.
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, JSON.stringify(entry) + '\n', 0o600);
    },
    async read() {
      // Not through a symlink, nor a FIFO, nor anything large: a note is a small file of root's.
      try {
        const read = await readSmallRegularFile(file, 64 * 1024);
        return 'text' in read ? (JSON.parse(read.text) as T) : null;
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
