import { createNote, type Note } from './notes.js';

/** Written before the server is stopped, removed once it runs again. */
export interface StoppedServer {
  container: string;
  runId: string;
  pid: number;
  stoppedAt: string;
}

/** The note a run leaves while the Immich server is stopped (see notes.ts). */
export type ServerMarker = Note<StoppedServer>;

export function createServerMarker(stateDir: string): ServerMarker {
  return createNote<StoppedServer>(stateDir, 'server-stopped.json');
}
