import path from 'node:path';
import { psqlExits } from '../adapters/database-dump.js';
import { waitForDatabaseServer } from '../adapters/database-info.js';
import { interpretExit } from '../adapters/process.js';
import { syncLibrary } from '../adapters/rsync.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { filesFolder } from '../layout/drive.js';
import { restoreDump } from './dump-stream.js';
import { compareRowCounts, dumpRowCounts } from './from-drive-check.js';
import { composeUp, type ComposeProject } from './from-drive-compose.js';
import type { FromDrivePlan } from './from-drive-plan.js';
import { checkFilesFolder } from './from-drive-places.js';
import { dumpRanSearchPathMigration, restoreSearchPath } from './from-drive-settings.js';
import { openLibraryFolder } from './library-folder.js';
import {
  type FromDriveDeps,
  assertComposeReadsAsChecked,
  assertComposeUsesKitImages,
  ensureImage,
  finalChecks,
  writeAppFolder,
} from './from-drive-app.js';
import { insideForChild } from './no-follow.js';
import { restoreTarget, syncTimeoutMs } from './plan.js';

export type { FromDriveDeps, LoadKitImage } from './from-drive-app.js';

export interface FromDriveSummary {
  ok: boolean;
  /** What was done, in order. */
  done: string[];
  /** What the checks found wrong (empty when ok). */
  problems: string[];
  /** The failure, and what to do next, when a step failed. */
  failure: { message: string; next: string } | null;
}

/**
 * Brings Immich back on a new machine from the drive alone (the plan checked it can): images,
 * compose and .env in the new app dir, the database restored into a fresh database container
 * (Immich's documented way, one transaction), files/ copied back into the new library (the
 * configured restore's copy: no link followed, nothing deleted), Immich started, and checked.
 * A step that fails stops it there: what was done stays, the summary says what to do next.
 */
export async function executeFromDrive(
  plan: FromDrivePlan,
  deps: FromDriveDeps,
): Promise<FromDriveSummary> {
  const { docker, gateway, log, signal } = deps;
  const done: string[] = [];
  const step = (text: string): void => {
    done.push(text);
    log.info({ step: 'restore' }, text);
  };
  const project: ComposeProject = {
    appDir: plan.appDir,
    composeFile: plan.composeName,
    composeText: plan.composeText,
    env: plan.env,
  };
  const kit = plan.kit.immich;
  const password = plan.env.get('DB_PASSWORD') || undefined;
  const target = {
    container: kit.databaseContainer,
    user: kit.databaseUser,
    database: kit.database,
    password,
  };
  let next = 'Run the restore again once the cause is fixed, with a new, empty --app-dir.';
  let tables: number | undefined;
  try {
    for (const planned of plan.images) step(await ensureImage(plan, planned, deps));

    await writeAppFolder(plan);
    step(
      `Wrote ${plan.composeName} and .env (UPLOAD_LOCATION=${plan.library}, DB_DATA_LOCATION=${plan.dbDataDir}) into ${plan.appDir}.`,
    );
    await assertComposeUsesKitImages(plan, docker);
    await assertComposeReadsAsChecked(plan, project, deps);

    const flavour = plan.flavour;
    const compose = flavour === 'v2' ? 'docker compose' : 'docker-compose';
    // From here a container may exist: the advice says how to take it down.
    next = `The app folder ${plan.appDir} is written and the database container may run: fix the cause, then remove them (${compose} down in ${plan.appDir}, and the folder) and run the restore again.`;
    await composeUp(gateway, flavour, project, [plan.databaseService], signal);
    const ready = await untilAborted(
      signal,
      waitForDatabaseServer(docker, kit.databaseContainer, {
        user: kit.databaseUser,
        database: kit.database,
        password,
        timeoutMs: deps.databaseTimeoutMs ?? 10 * 60 * 1000,
      }),
    );
    if (!ready) {
      throw new AgentError(
        'RESTORE_FAILED',
        `The new database in ${kit.databaseContainer} did not start.`,
        {
          step: 'restore',
          hint: `See docker logs ${kit.databaseContainer}.`,
        },
      );
    }
    step(`Started the database (${compose} up -d ${plan.databaseService}).`);

    // Ctrl-C stops the wait here; the command then exits, which ends psql's input before its
    // COMMIT: nothing of the dump is kept.
    const restored = await untilAborted(
      signal,
      restoreDump(docker, plan.dumpFile, plan.format, target),
    );
    const meaning = interpretExit(psqlExits, restored.exitCode ?? -1);
    if (meaning.outcome === 'error') {
      throw new AgentError(
        'RESTORE_FAILED',
        `psql stopped (exit ${restored.exitCode}: ${meaning.meaning}): ${restored.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        { step: 'restore' },
      );
    }
    step(`Restored the database from ${plan.dump.name}.`);
    if (await dumpRanSearchPathMigration(plan.dumpFile, plan.format, kit.database, signal)) {
      await restoreSearchPath(docker, target);
      step(
        'Set the database’s search_path as Immich’s recorded migration did (no dump carries it).',
      );
    }
    // Counted now, before the copy and before Immich runs (and migrates or writes).
    const expected = await dumpRowCounts(plan.dumpFile, plan.format, kit.database, signal);
    const differ = await compareRowCounts(docker, target, expected);
    if (differ.length > 0) {
      throw new AgentError(
        'RESTORE_FAILED',
        `The restored database does not hold the dump's rows: ${differ.join('; ')}.`,
        { step: 'restore' },
      );
    }
    tables = expected.size;
    step(`Checked: ${plural(tables, 'table')} hold the dump's rows.`);
    next = `The database is restored. Run the rest by hand: copy ${path.join(plan.backupDir, filesFolder)}/ into ${plan.library}/ without following the drive's links (this agent again, or rsync -rt --no-links --no-devices --no-specials), then ${compose} up -d in ${plan.appDir}.`;

    signal?.throwIfAborted();
    const copied = await copyFilesBack(plan, deps);
    step(
      `Copied ${plural(copied.files, 'file')} (${formatBytes(copied.bytes)}) into ${plan.library}.`,
    );
    next = `The database and the files are back. Start Immich by hand: ${compose} up -d in ${plan.appDir}.`;

    signal?.throwIfAborted();
    await composeUp(gateway, flavour, project, [], signal);
    step('Started Immich.');
    next = `Immich is started: look at what the checks found (docker logs ${kit.serverContainer}).`;
  } catch (error) {
    const failure = toAgentError(error, 'RESTORE_FAILED', 'restore');
    log.error({ step: 'restore', code: failure.code }, failure.longMessage);
    return { ok: false, done, problems: [], failure: { message: failure.longMessage, next } };
  }

  const problems: string[] = [];
  let originals = 0;
  try {
    const found = await finalChecks(plan, deps);
    problems.push(...found.problems);
    originals = found.checked;
  } catch (error) {
    // A check that cannot run is a problem to report, not a lost summary.
    const failure = toAgentError(error, 'RESTORE_FAILED', 'restore');
    problems.push(`the checks could not finish: ${failure.longMessage}`);
  }
  if (problems.length === 0) {
    step(
      `Checked: ${kit.serverContainer} stays up, ${plural(tables ?? 0, 'table')} hold the dump's rows, and ${plural(originals, 'original')} the database references ${originals === 1 ? 'is' : 'are'} in the library.`,
    );
  }
  return {
    ok: problems.length === 0,
    done,
    problems,
    failure:
      problems.length === 0 ? null : { message: `The check found: ${problems.join('; ')}.`, next },
  };
}

/** files/ into the new library: the configured restore's copy (see execute.ts restoreFiles). */
async function copyFilesBack(
  plan: FromDrivePlan,
  deps: FromDriveDeps,
): Promise<{ files: number; bytes: number }> {
  // Again, right before the copy: the drive is not trusted to stay as the plan saw it.
  const source = await checkFilesFolder(plan.backupDir);
  const library = await openLibraryFolder(plan.library, [plan.backupDir]);
  try {
    const sourceType = (await restoreTarget(source, 'ext4')).filesystemType;
    const where = await restoreTarget(library.realPath, sourceType);
    const copied = await syncLibrary(deps.gateway, {
      source,
      ...where,
      destination: insideForChild(library.handle),
      owner: library.owner,
      timeoutMs: syncTimeoutMs,
      signal: deps.signal,
      replacedFilesDir: `.immich-backup-agent-replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    }).catch((error: unknown) => {
      // The copy's own words are about a backup drive; here the full disk is the library's.
      if (error instanceof AgentError && error.code === 'NO_SPACE') {
        throw new AgentError('NO_SPACE', `The new library's disk (${plan.library}) is full.`, {
          step: 'restore',
          hint: 'Free space there (or choose a bigger disk), then copy the rest as the next step says: what was copied stays.',
          cause: error,
        });
      }
      throw error;
    });
    return { files: copied.transferredFiles, bytes: copied.transferredBytes };
  } finally {
    await library.handle.close();
  }
}

/** `work`, or an INTERRUPTED failure as soon as `signal` aborts (work itself is not stopped). */
async function untilAborted<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work;
  let stop: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    stop = () =>
      reject(
        new AgentError('INTERRUPTED', 'Interrupted (Ctrl-C or SIGTERM).', { step: 'restore' }),
      );
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
