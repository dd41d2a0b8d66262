import path from 'node:path';
import { chown, mkdir, stat } from 'node:fs/promises';
import { verifyDump, type DumpFormat } from '../adapters/database-dump.js';
import { postgresServerVersion, waitForDatabaseServer } from '../adapters/database-info.js';
import { syncLibrary } from '../adapters/rsync.js';
import type { DriveSession } from '../cli/drive-session.js';
import { listDumps, pickDump, type DumpEntry } from '../drive-content/dumps.js';
import { immichMajor, immichServerTag } from '../drive-content/sidecar.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { readMountinfo } from '../adapters/mountinfo.js';
import { stopServerWithRestart, type ServerDowntime } from '../run/server-control.js';
import { createServerMarker } from '../run/server-marker.js';
import { restoreDump } from './dump-stream.js';
import { writeRestoreRecord } from './restore-history.js';

export interface RestoreOptions {
  date?: string;
  databaseOnly: boolean;
  filesOnly: boolean;
}

export interface RestorePlan {
  /** null only for --files-only when the drive has no usable dump. */
  dump: DumpEntry | null;
  format: DumpFormat | null;
  backup: { immich: string | null; postgres: string | null };
  running: { immich: string | null; postgres: string | null };
  /** Both majors known and different: refused unless --force. */
  majorMismatch: { backup: number; running: number } | null;
  database: boolean;
  files: boolean;
  filesToCopy: { files: number; bytes: number } | null;
  replacedFilesDir: string;
}

const syncTimeoutMs = 72 * 60 * 60 * 1000;

/** Reads what a restore would do, changing nothing: which dump, versions, what is copied where. */
export async function planRestore(
  session: DriveSession,
  options: RestoreOptions,
): Promise<RestorePlan> {
  const { config, deps, target } = session;
  // The files alone need no dump: a missing or damaged one must not keep the photos back.
  const usable = async (): Promise<{ dump: DumpEntry; format: DumpFormat }> => {
    const dump = pickDump(await listDumps(target.backupDir), options.date);
    const { format } = await verifyDump(path.join(target.backupDir, dump.name), deps.signal);
    return { dump, format };
  };
  const { dump, format } = options.filesOnly
    ? await usable().catch(() => ({ dump: null, format: null }))
    : await usable();
  const server = await deps.docker.inspect(config.immich.serverContainer);
  const runningImmich = immichServerTag(server?.image ?? null) ?? config.immich.immichVersion;
  const backupImmich =
    dump?.sidecar?.immich.serverImageTag ?? dump?.sidecar?.immich.envVersion ?? null;
  const runningMajor = immichMajor(runningImmich);
  const backupMajor = immichMajor(backupImmich);
  const database = !options.filesOnly;
  const files = !options.databaseOnly;
  let filesToCopy: RestorePlan['filesToCopy'] = null;
  if (files) {
    const measured = await syncLibrary(
      deps.gateway,
      {
        source: target.filesDir,
        ...(await restoreTarget(config.immich.libraryDir, target.filesystemType)),
        timeoutMs: syncTimeoutMs,
        signal: deps.signal,
      },
      true,
    );
    filesToCopy = { files: measured.transferredFiles, bytes: measured.transferredBytes };
  }
  return {
    dump,
    format,
    backup: { immich: backupImmich, postgres: dump?.sidecar?.postgres.serverVersion ?? null },
    running: {
      immich: runningImmich,
      postgres: await postgresServerVersion(
        deps.docker,
        config.immich.databaseContainer,
        config.immich.databaseUser,
        config.immich.databaseName,
        config.secrets.databasePassword,
      ),
    },
    majorMismatch:
      runningMajor !== null && backupMajor !== null && runningMajor !== backupMajor
        ? { backup: backupMajor, running: runningMajor }
        : null,
    database,
    files,
    filesToCopy,
    replacedFilesDir: path.join(
      config.immich.libraryDir,
      `.immich-backup-agent-replaced-${session.runId}`,
    ),
  };
}

export function formatPlan(session: DriveSession, plan: RestorePlan): string {
  const { config } = session;
  const lines = [
    `Restore plan (nothing has been changed):`,
    plan.dump
      ? `  Backup:    ${plan.dump.name} (${formatBytes(plan.dump.bytes)}, ${plan.format}${plan.dump.sidecar ? '' : ', no sidecar'})`
      : `  Backup:    files/ only (no usable dump on the drive)`,
    `  Immich:    backup ${plan.backup.immich ?? 'unknown'}, running ${plan.running.immich ?? 'unknown'}`,
    `  Postgres:  backup ${plan.backup.postgres ?? 'unknown'}, running ${plan.running.postgres ?? 'unknown'}`,
  ];
  if (plan.majorMismatch) {
    lines.push(
      `  REFUSED without --force: the backup is from Immich ${plan.majorMismatch.backup}.x, the running server is ${plan.majorMismatch.running}.x.`,
    );
  } else if (plan.backup.immich === null || plan.running.immich === null) {
    lines.push(
      '  Note:      the versions cannot be compared; check that the Immich versions match.',
    );
  }
  lines.push(`  1. Stop ${config.immich.serverContainer}.`);
  let step = 2;
  if (plan.database) {
    lines.push(
      plan.format === 'pg_dump'
        ? `  ${step++}. Restore database "${config.immich.databaseName}" in ${config.immich.databaseContainer} in one transaction (the search_path fix applied; on any error nothing changes).`
        : `  ${step++}. Restore the whole cluster dump into ${config.immich.databaseContainer} through the postgres database (a legacy pg_dumpall dump).`,
    );
  }
  if (plan.files && plan.filesToCopy?.files === 0) {
    lines.push(
      `  ${step++}. Nothing to copy back: ${config.immich.libraryDir} has every file of the backup.`,
    );
  } else if (plan.files && plan.filesToCopy) {
    lines.push(
      `  ${step++}. Copy ${plural(plan.filesToCopy.files, 'missing or changed file')} (${formatBytes(plan.filesToCopy.bytes)}) from the drive's files/ into ${config.immich.libraryDir}; nothing is deleted, replaced files are kept in ${path.basename(plan.replacedFilesDir)}/.`,
    );
  }
  lines.push(`  ${step}. Start ${config.immich.serverContainer} again.`);
  lines.push('Run again with --yes to do it.');
  return lines.join('\n');
}

export interface RestoreRecord {
  id: string;
  kind: 'restore';
  dump: string | null;
  format: DumpFormat | null;
  database: boolean;
  files: { transferredFiles: number; transferredBytes: number } | null;
  server: ServerDowntime | null;
  outcome: 'success' | 'failed';
  reason: string | null;
  message: string;
  startedAt: string;
  finishedAt: string;
}

/**
 * Puts the backup back: stops the server (its restart registered first), restores the database
 * the way Immich documents, copies missing and changed files back into the library (never
 * deleting; what it replaces is kept aside), starts the server again, and records the restore.
 */
export async function executeRestore(
  session: DriveSession,
  plan: RestorePlan,
  options: { force: boolean },
): Promise<RestoreRecord> {
  const { config, deps, undo, target, logger: log } = session;
  const startedAt = deps.clock();
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
  const record: RestoreRecord = {
    id: session.runId,
    kind: 'restore',
    dump: plan.dump?.name ?? null,
    format: plan.format,
    database: plan.database,
    files: null,
    server: null,
    outcome: 'success',
    reason: null,
    message: '',
    startedAt: startedAt.toISOString(),
    finishedAt: '',
  };
  try {
    // Before anything is stopped: a database container that has just been started (a new
    // machine's) may still run its image's temporary init server.
    if (plan.database && plan.dump) await waitForDatabase(session);
    const server = await deps.docker.inspect(config.immich.serverContainer);
    if (server?.running) {
      record.server = {
        container: config.immich.serverContainer,
        stoppedAt: null,
        startedAt: null,
        downtimeMs: 0,
      };
      await stopServerWithRestart({
        docker: deps.docker,
        marker: createServerMarker(config.stateDir),
        container: config.immich.serverContainer,
        timeoutSeconds: config.immich.stopTimeoutSeconds,
        undo,
        log,
        runId: session.runId,
        clock: deps.clock,
        why: 'for the restore',
        downtime: record.server,
      });
    }
    if (plan.database && plan.dump && plan.format) {
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
      if (plan.format === 'pg_dump' && result.exitCode !== 0) {
        throw new AgentError(
          'RESTORE_FAILED',
          `psql stopped with exit code ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
          {
            step: 'restore',
            hint: 'The restore ran in one transaction, so the database is as it was before.',
          },
        );
      }
      if (plan.format === 'pg_dumpall' && result.exitCode !== 0) {
        // Statement errors leave psql at 0 on a cluster dump (roles that exist); 1 and 2 are a
        // fatal error or a lost connection: the restore did not go through.
        throw new AgentError(
          'RESTORE_FAILED',
          `psql stopped with exit code ${result.exitCode} on the cluster dump: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
          {
            step: 'restore',
            hint: 'A cluster dump (pg_dumpall) restores statement by statement: check the database, then run the restore again.',
          },
        );
      }
      if (plan.format === 'pg_dumpall' && result.stderr.trim()) {
        log.warn(
          { step: 'restore' },
          `psql reported on the cluster dump (expected for roles that exist): ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`,
        );
      }
      log.info({ step: 'restore' }, 'The database is restored.');
    }
    if (plan.files) {
      // The owner is read before the folder may be made (then its parent's is taken).
      const where = await restoreTarget(config.immich.libraryDir, target.filesystemType);
      await mkdir(config.immich.libraryDir, { recursive: true });
      if (where.owner)
        await chown(config.immich.libraryDir, where.owner.uid, where.owner.gid).catch(
          () => undefined,
        );
      const copied = await syncLibrary(deps.gateway, {
        source: target.filesDir,
        ...where,
        timeoutMs: syncTimeoutMs,
        signal: deps.signal,
        replacedFilesDir: plan.replacedFilesDir,
      });
      record.files = {
        transferredFiles: copied.transferredFiles,
        transferredBytes: copied.transferredBytes,
      };
      log.info(
        { step: 'restore' },
        `Copied ${plural(copied.transferredFiles, 'file')} (${formatBytes(copied.transferredBytes)}) back into the library.`,
      );
    }
  } catch (error) {
    const failure = toAgentError(error, 'RESTORE_FAILED', 'restore');
    record.outcome = 'failed';
    record.reason = failure.code;
    record.message = failure.longMessage;
  } finally {
    for (const failed of await undo.unwind()) {
      record.outcome = 'failed';
      record.reason = failed.error.code;
      record.message = failed.error.longMessage;
    }
  }
  record.finishedAt = deps.clock().toISOString();
  if (record.outcome === 'success') {
    record.message = `Restored ${[plan.database ? 'the database' : '', record.files ? `${plural(record.files.transferredFiles, 'file')}` : ''].filter(Boolean).join(' and ')} from ${plan.dump?.name ?? 'files/'}.`;
  }
  await writeRestoreRecord(config.stateDir, record);
  log[record.outcome === 'success' ? 'info' : 'error'](
    { step: 'restore', outcome: record.outcome },
    record.message,
  );
  return record;
}

/**
 * Where the files go back and how: the library's filesystem, the drive's (a drive without
 * permissions has only made-up owners and modes), and the library folder's owner, whom the
 * restored files then belong to.
 */
async function restoreTarget(
  libraryDir: string,
  driveFilesystemType: string,
): Promise<{
  destination: string;
  filesystemType: string;
  sourceFilesystemType: string;
  owner?: { uid: number; gid: number };
}> {
  const library =
    (await stat(libraryDir).catch(() => null)) ??
    (await stat(path.dirname(libraryDir)).catch(() => null));
  return {
    destination: libraryDir,
    filesystemType: await filesystemTypeOf(libraryDir),
    sourceFilesystemType: driveFilesystemType,
    ...(library ? { owner: { uid: library.uid, gid: library.gid } } : {}),
  };
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

/** The filesystem type of the mount a folder is on (rsync keeps owners only where it can). */
async function filesystemTypeOf(folder: string): Promise<string> {
  const mounts = await readMountinfo();
  const containing = mounts.filter(
    (entry) =>
      folder === entry.mountPoint ||
      folder.startsWith(entry.mountPoint.endsWith('/') ? entry.mountPoint : `${entry.mountPoint}/`),
  );
  return containing.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0]?.fsType ?? 'ext4';
}
