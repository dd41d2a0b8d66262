import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { psqlExits } from '../adapters/database-dump.js';
import { waitForDatabaseServer } from '../adapters/database-info.js';
import { interpretExit } from '../adapters/process.js';
import { syncLibrary } from '../adapters/rsync.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { decideOutcome } from '../policy/outcome.js';
import type { DriveSession } from '../session/drive-session.js';
import { stopServerWithRestart } from '../session/server.js';
import { restoreDump } from './dump-stream.js';
import { openLibraryFolder } from './library-folder.js';
import { inside, insideForChild } from './no-follow.js';
import { agentFolders, restoreTarget, syncTimeoutMs, type RestorePlan } from './plan.js';
import { writeRestoreRecord, type RestoreRecord } from './restore-record.js';

/**
 * Puts the backup back: waits for the database's server, stops the Immich server (its restart
 * registered first), restores the database the way Immich documents, copies missing and changed
 * files back into the library (never deleting; what it replaces is kept aside), starts the
 * server again, and records the restore. As a run's, the outcome is the first error's: putting
 * something back that fails afterwards (the unmount) warns, and a server that does not come
 * back fails whatever else happened.
 */
export async function executeRestore(
  session: DriveSession,
  plan: RestorePlan,
  options: { force: boolean },
): Promise<RestoreRecord> {
  const { config, deps, undo, logger: log } = session;
  if (plan.majorMismatch && !options.force) {
    throw new AgentError(
      'VERSION_MISMATCH',
      `The backup is from Immich ${plan.majorMismatch.backup}.x but ${plan.majorMismatch.running}.x runs now; restoring across major versions can break the database.`,
      {
        step: 'restore',
        hint: 'Run the Immich version of the backup first, or pass --force if you know it works.',
      },
    );
  }
  const startedAt = deps.clock().toISOString();
  let server: RestoreRecord['server'] = null;
  let files: RestoreRecord['files'] = null;
  let primary: AgentError | null = null;
  try {
    // Before anything is stopped: a database container that has just been started (a new
    // machine's) may still run its image's temporary init server.
    if (plan.database && plan.dump) await waitForDatabase(session);
    if ((await deps.docker.inspect(config.immich.serverContainer))?.running) {
      server = {
        container: config.immich.serverContainer,
        stoppedAt: null,
        startedAt: null,
        downtimeMs: 0,
      };
      await stopServerWithRestart({
        docker: deps.docker,
        stateDir: config.stateDir,
        container: config.immich.serverContainer,
        timeoutSeconds: config.immich.stopTimeoutSeconds,
        undo,
        log,
        runId: session.runId,
        clock: deps.clock,
        why: 'for the restore',
        downtime: server,
      });
    }
    if (plan.database) await restoreDatabase(session, plan);
    if (plan.files) files = await restoreFiles(session, plan);
  } catch (error) {
    primary = toAgentError(error, 'RESTORE_FAILED', 'restore');
  }
  const cleanupErrors = (await undo.unwind()).map((failure) => failure.error);
  const verdict = decideOutcome(primary, cleanupErrors, []);
  const outcome =
    verdict.outcome === 'success' || verdict.outcome === 'warning' ? verdict.outcome : 'failed';
  const record: RestoreRecord = {
    id: session.runId,
    kind: 'restore',
    dump: plan.dump?.name ?? null,
    format: plan.format,
    database: plan.database,
    files,
    server,
    outcome,
    reason: verdict.reason,
    message:
      verdict.error && outcome === 'failed'
        ? verdict.error.longMessage
        : `Restored ${[plan.database ? 'the database' : '', files ? plural(files.transferredFiles, 'file') : ''].filter(Boolean).join(' and ')} from ${plan.dump?.name ?? 'files/'}.${verdict.error ? ` ${verdict.error.longMessage}` : ''}`,
    startedAt,
    finishedAt: deps.clock().toISOString(),
  };
  await writeRestoreRecord(config.stateDir, record);
  log[outcome === 'failed' ? 'error' : outcome === 'warning' ? 'warn' : 'info'](
    { step: 'restore', outcome },
    record.message,
  );
  return record;
}

/** The dump into the database container; psql's exit code read by the dump adapter's table. */
async function restoreDatabase(session: DriveSession, plan: RestorePlan): Promise<void> {
  const { config, deps, target, logger: log } = session;
  if (!plan.dump || !plan.format) return;
  log.info({ step: 'restore' }, `Restoring the database from ${plan.dump.name}.`);
  const result = await restoreDump(
    deps.docker,
    path.join(target.backupDir, plan.dump.name),
    plan.format,
    {
      container: config.immich.databaseContainer,
      user: config.immich.databaseUser,
      database: config.immich.databaseName,
      password: config.secrets.databasePassword,
    },
  );
  const stderr = result.stderr.trim();
  const meaning = interpretExit(psqlExits, result.exitCode ?? -1);
  if (meaning.outcome === 'error') {
    throw new AgentError(
      'RESTORE_FAILED',
      `psql stopped${plan.format === 'pg_dumpall' ? ' on the cluster dump' : ''} (exit ${result.exitCode}: ${meaning.meaning}): ${stderr.split('\n').slice(-3).join(' | ')}`,
      {
        step: 'restore',
        hint:
          plan.format === 'pg_dump'
            ? 'The restore ran in one transaction, so the database is as it was before.'
            : 'A cluster dump (pg_dumpall) restores statement by statement: check the database, then run the restore again.',
      },
    );
  }
  // A cluster dump goes on past statement errors (psql exits 0): roles that exist, say.
  if (plan.format === 'pg_dumpall' && stderr) {
    log.warn(
      { step: 'restore' },
      `psql reported on the cluster dump (expected for roles that exist): ${stderr.split('\n').slice(0, 3).join(' | ')}`,
    );
  }
  log.info({ step: 'restore' }, 'The database is restored.');
}

/** files/ back into the library: missing and changed files, what they replace kept aside. */
async function restoreFiles(
  session: DriveSession,
  plan: RestorePlan,
): Promise<NonNullable<RestoreRecord['files']>> {
  const { config, deps, target, logger: log } = session;
  // The library's contents are its owner's, not trusted: the folder is reached without
  // following a link and held open, and rsync writes through /proc/<pid>/fd/<n> (the folder
  // held, whatever is renamed on its path meanwhile). rsync follows no symlink it finds in the
  // destination (no --keep-dirlinks, -L or -K): one in the way is moved aside into the
  // replaced-files folder, as a changed file is, and a real folder made in its place.
  const library = await openLibraryFolder(config.immich.libraryDir, agentFolders(config));
  let copied;
  try {
    const where = await restoreTarget(library.realPath, target.filesystemType);
    const aside = path.basename(plan.replacedFilesDir);
    if (await lstat(inside(library.handle, aside)).catch(() => null)) {
      throw new AgentError('RESTORE_FAILED', `${aside} is already in the library.`, {
        step: 'restore',
        hint: 'Nothing was copied. Move it away, then run the restore again.',
      });
    }
    copied = await syncLibrary(deps.gateway, {
      source: target.filesDir,
      ...where,
      destination: insideForChild(library.handle),
      owner: library.owner,
      timeoutMs: syncTimeoutMs,
      signal: deps.signal,
      // Relative: rsync takes it inside the destination, the folder held.
      replacedFilesDir: aside,
    });
  } finally {
    await library.handle.close();
  }
  log.info(
    { step: 'restore' },
    `Copied ${plural(copied.transferredFiles, 'file')} (${formatBytes(copied.transferredBytes)}) back into the library.`,
  );
  return { transferredFiles: copied.transferredFiles, transferredBytes: copied.transferredBytes };
}

/** Waits for the database container's real server; RESTORE_FAILED, nothing touched, if it never comes. */
async function waitForDatabase(session: DriveSession): Promise<void> {
  const { config, deps } = session;
  const ready = await waitForDatabaseServer(deps.docker, config.immich.databaseContainer, {
    user: config.immich.databaseUser,
    database: config.immich.databaseName,
    password: config.secrets.databasePassword,
    timeoutMs: 120_000,
  });
  if (!ready) {
    throw new AgentError(
      'RESTORE_FAILED',
      `PostgreSQL in ${config.immich.databaseContainer} did not accept connections to database "${config.immich.databaseName}" within two minutes.`,
      {
        step: 'restore',
        hint: `Nothing was changed. Start it (docker start ${config.immich.databaseContainer}), check docker logs ${config.immich.databaseContainer}, then run the restore again.`,
      },
    );
  }
}
