import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/atomic-files.js';

/** What `status` shows about a run in progress. */
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

/**
 * The current step of a running backup, in the state folder, replaced at every step. It is only
 * believed while the run lock's owner is alive (a killed run leaves it behind).
 */
export interface ProgressFile {
  write(progress: RunProgress): Promise<void>;
  read(): Promise<RunProgress | null>;
  clear(): Promise<void>;
}

export function createProgressFile(stateDir: string): ProgressFile {
  const file = path.join(stateDir, 'progress.json');
  return {
    write: (progress) => writeFileAtomic(file, JSON.stringify(progress) + '\n'),
    async read() {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as RunProgress;
      } catch {
        return null;
      }
    },
    clear: () => rm(file, { force: true }),
  };
}
