import { existsSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { Logger } from '../log/logger.js';

export interface SyncWindowOptions {
  /** The longest wait; 0 = none. */
  seconds: number;
  /** fixed: always the whole window (the seed's sleep 1200). adaptive: end once uploads are quiet. */
  mode: 'fixed' | 'adaptive';
  /** adaptive: this long without a change under the upload folders ends the wait. */
  quietSeconds: number;
  libraryDir: string;
  signal: AbortSignal;
  log: Logger;
}

export type SyncWindowEnd = 'none' | 'elapsed' | 'quiet';

/** Immich writes new uploads here (upload/) and moves them here with the storage template (library/). */
export const uploadFolders = ['upload', 'library'];

/**
 * Before a scheduled run, gives phones time to finish uploading the day's photos. The adaptive
 * mode watches the upload folders and ends the wait early once nothing has changed there for
 * `quietSeconds`, but never waits longer than the window. SIGTERM ends the wait at once (the run
 * is then interrupted before it touched anything).
 */
export async function waitSyncWindow(
  options: SyncWindowOptions,
): Promise<{ waitedMs: number; endedBy: SyncWindowEnd }> {
  const { log, signal } = options;
  if (options.seconds <= 0) return { waitedMs: 0, endedBy: 'none' };
  const started = Date.now();
  const folders = uploadFolders
    .map((folder) => path.join(options.libraryDir, folder))
    .filter((folder) => existsSync(folder));
  const adaptive = options.mode === 'adaptive' && folders.length > 0;
  log.info(
    { step: 'sync-window', seconds: options.seconds, mode: adaptive ? 'adaptive' : 'fixed' },
    adaptive
      ? `Waiting up to ${formatDuration(options.seconds * 1000)} for uploads to finish (ending early after ${formatDuration(options.quietSeconds * 1000)} without a new file).`
      : `Waiting ${formatDuration(options.seconds * 1000)} so phones can finish uploading.`,
  );
  const watcher = adaptive
    ? (await import('chokidar')).watch(folders, {
        ignoreInitial: true,
        persistent: true,
        awaitWriteFinish: false,
      })
    : null;
  try {
    const endedBy = await new Promise<SyncWindowEnd>((resolve, reject) => {
      let quietTimer: NodeJS.Timeout | undefined;
      const windowTimer = setTimeout(() => finish('elapsed'), options.seconds * 1000);
      const armQuiet = (): void => {
        clearTimeout(quietTimer);
        quietTimer = setTimeout(() => finish('quiet'), options.quietSeconds * 1000);
      };
      const onAbort = (): void => {
        cleanup();
        reject(
          new AgentError(
            'INTERRUPTED',
            'The run was interrupted while waiting for uploads to finish.',
            { step: 'sync-window' },
          ),
        );
      };
      const cleanup = (): void => {
        clearTimeout(windowTimer);
        clearTimeout(quietTimer);
        signal.removeEventListener('abort', onAbort);
      };
      function finish(reason: SyncWindowEnd): void {
        cleanup();
        resolve(reason);
      }
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (watcher) {
        watcher.on('all', (event, changed) => {
          log.debug(
            { step: 'sync-window', event, path: changed },
            `Upload activity: ${event} ${changed}`,
          );
          armQuiet();
        });
        watcher.on('ready', armQuiet);
        watcher.on('error', (error) => {
          log.warn(
            { step: 'sync-window', err: error },
            `Cannot watch the upload folders (${(error as Error).message}); waiting the whole window.`,
          );
          clearTimeout(quietTimer);
        });
      }
    });
    const waitedMs = Date.now() - started;
    log.info(
      { step: 'sync-window', waitedMs, endedBy },
      endedBy === 'quiet'
        ? `No upload for ${formatDuration(options.quietSeconds * 1000)}: starting after ${formatDuration(waitedMs)} instead of ${formatDuration(options.seconds * 1000)}.`
        : `The sync window of ${formatDuration(options.seconds * 1000)} is over: starting.`,
    );
    return { waitedMs, endedBy };
  } finally {
    await watcher?.close();
  }
}
