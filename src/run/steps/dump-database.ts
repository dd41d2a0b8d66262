import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { dumpDatabase } from '../../adapters/database-dump.js';
import { driveWriteError } from '../../adapters/drive-errors.js';
import { assertDriveStillThere } from './drive-still-there.js';
import { postgresServerVersion } from '../../adapters/database-info.js';
import { applyRetention } from '../../drive-content/retention.js';
import { immichServerTag, writeSidecar } from '../../drive-content/sidecar.js';
import { dumpNameFor } from '../../drive-content/dump-name.js';
import { formatBytes, formatDuration } from '../../format.js';
import { isPartialDump } from '../../layout/drive.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

/**
 * Dumps the database first, before the files (Immich's advice: the worst case is then a file
 * the database does not know, never a database entry without its file).
 */
export async function dumpStep(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, docker, log, state } = context;
  const { databaseContainer, databaseName, databaseUser } = config.immich;
  // The seed's name: the local date of the run; a second run on one day replaces that dump,
  // never one a later run wrote (a clock set back): that stays, this one gets its own name.
  const { name, sequence } = await dumpNameFor(target.backupDir, context.clock(), log);
  const file = path.join(target.backupDir, name);
  if (context.request.dryRun) {
    log.info(
      { step: 'dump' },
      `Would dump database "${databaseName}" as ${databaseUser} from ${databaseContainer} to ${file}.`,
    );
    return;
  }
  await removeLeftoverPartials(target.backupDir, log);
  await context.drive.proveOnDrive(target.backupDir, target.filesystem);
  log.info(
    { step: 'dump' },
    `Dumping database "${databaseName}" from ${databaseContainer} to ${name}.`,
  );
  const started = Date.now();
  let result: Awaited<ReturnType<typeof dumpDatabase>>;
  try {
    result = await dumpDatabase(docker, {
      container: databaseContainer,
      user: databaseUser,
      database: databaseName,
      password: config.secrets.databasePassword,
      file,
      tag: context.runId,
      signal: context.signal,
      onProgress: (bytes) => context.reporter.update({ bytes }),
    });
  } catch (error) {
    await assertDriveStillThere(context, target, error);
    throw error;
  }
  const durationMs = Date.now() - started;
  const [server, databaseContainerState, postgresVersion] = await Promise.all([
    docker.inspect(config.immich.serverContainer).catch(() => null),
    docker.inspect(databaseContainer).catch(() => null),
    postgresServerVersion(
      docker,
      databaseContainer,
      databaseUser,
      databaseName,
      config.secrets.databasePassword,
    ),
  ]);
  // Written only now: the dump has been checked, so the sidecar can say so.
  await writeSidecar(target.backupDir, {
    dump: name,
    format: result.format,
    database: databaseName,
    user: databaseUser,
    bytes: result.bytes,
    sha256: result.sha256,
    createdAt: context.clock().toISOString(),
    immich: {
      envVersion: config.immich.immichVersion,
      serverImage: server?.image ?? null,
      serverImageTag: immichServerTag(server?.image ?? null),
    },
    postgres: { serverVersion: postgresVersion, image: databaseContainerState?.image ?? null },
    verified: true,
    runId: context.runId,
    agentVersion: context.agentVersion,
    sequence,
  }).catch((error: unknown) => {
    throw driveWriteError(error, `the sidecar of ${name}`, 'dump', target.backupDir) ?? error;
  });
  // With a check after the backup (verify.afterBackup), old dumps go only once that passed.
  if (config.verify.afterBackup === 'off') {
    await applyRetention(target.backupDir, config.retention.keepDumps, log, name);
  }
  state.database = {
    file: name,
    bytes: result.bytes,
    sha256: result.sha256,
    container: databaseContainer,
    name: databaseName,
    durationMs,
  };
  log.info(
    { step: 'dump', bytes: result.bytes, uncompressedBytes: result.uncompressedBytes, durationMs },
    `Dumped the database in ${formatDuration(durationMs)}: ${name}, ${formatBytes(result.bytes)} (${formatBytes(result.uncompressedBytes)} of SQL), checked complete.`,
  );
}

/** Temporary dumps of runs that died (we hold the lock, so no live run owns one). */
async function removeLeftoverPartials(backupDir: string, log: StepContext['log']): Promise<void> {
  for (const entry of await readdir(backupDir, { withFileTypes: true })) {
    if (!isPartialDump(entry.name)) continue;
    // Only what a run writes, a regular file; anything else by that name is not the agent's.
    if (!entry.isFile()) {
      log.warn({ step: 'dump' }, `Left ${entry.name} alone: it is not a file the agent wrote.`);
      continue;
    }
    await rm(path.join(backupDir, entry.name), { force: true });
    log.info({ step: 'dump' }, `Removed ${entry.name}, the unfinished dump of an earlier run.`);
  }
}
