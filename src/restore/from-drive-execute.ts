import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { psqlExits } from '../adapters/database-dump.js';
import { waitForDatabaseServer } from '../adapters/database-info.js';
import type { DockerAdapter } from '../adapters/docker.js';
import { interpretExit, type ProcessGateway } from '../adapters/process.js';
import { syncLibrary } from '../adapters/rsync.js';
import { AgentError, toAgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { filesFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import type { KitImage } from '../restore-kit/kit-manifest.js';
import { restoreDump } from './dump-stream.js';
import { compareRowCounts, dumpRowCounts, missingOriginals, staysUp } from './from-drive-check.js';
import { composeUp, findCompose, type ComposeProject } from './from-drive-compose.js';
import type { FromDrivePlan, PlannedImage } from './from-drive-plan.js';
import { checkFilesFolder } from './from-drive-places.js';
import { dumpRanSearchPathMigration, restoreSearchPath } from './from-drive-settings.js';
import { openLibraryFolder } from './library-folder.js';
import { loadKitImage } from '../restore-kit/kit-images.js';
import { insideForChild } from './no-follow.js';
import { restoreTarget, syncTimeoutMs } from './plan.js';

/** `docker load` of a kit's saved image, checked to be the recorded id (restore-kit/kit-images.ts). */
export type LoadKitImage = (
  docker: DockerAdapter,
  kitDir: string,
  image: KitImage,
  options: { signal?: AbortSignal },
) => Promise<unknown>;

export interface FromDriveDeps {
  docker: DockerAdapter;
  gateway: ProcessGateway;
  log: Logger;
  signal?: AbortSignal;
  /** The kit's image loader (default: loadKitImage; tests give their own). */
  loadKitImage?: LoadKitImage;
  /** How long the server must stay up to count as started (default 10 s). */
  settleSeconds?: number;
  /** How long the new database may take to start (default 10 min). */
  databaseTimeoutMs?: number;
}

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
  try {
    for (const planned of plan.images) step(await ensureImage(plan, planned, deps));

    await mkdir(plan.appDir, { recursive: true, mode: 0o755 });
    // 'wx': never over a file that appeared since the plan.
    await writeFile(path.join(plan.appDir, plan.composeName), plan.composeText, {
      flag: 'wx',
      mode: 0o644,
    });
    await writeFile(path.join(plan.appDir, '.env'), plan.envText, { flag: 'wx', mode: 0o600 });
    await chmod(path.join(plan.appDir, '.env'), 0o600);
    await mkdir(plan.dbDataDir, { mode: 0o700 });
    step(
      `Wrote ${plan.composeName} and .env (UPLOAD_LOCATION=${plan.library}, DB_DATA_LOCATION=${plan.dbDataDir}) into ${plan.appDir}.`,
    );

    const flavour = await findCompose(gateway, signal);
    await composeUp(gateway, flavour, project, [plan.databaseService], signal);
    const ready = await waitForDatabaseServer(docker, kit.databaseContainer, {
      user: kit.databaseUser,
      database: kit.database,
      password,
      timeoutMs: deps.databaseTimeoutMs ?? 10 * 60 * 1000,
    });
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
    step(
      `Started the database (${flavour === 'v2' ? 'docker compose' : 'docker-compose'} up -d ${plan.databaseService}).`,
    );
    next = `The app folder ${plan.appDir} is written and the database container runs: fix the cause, then remove them (docker compose down in ${plan.appDir}, and the folder) and run the restore again.`;

    const restored = await restoreDump(docker, plan.dumpFile, plan.format, target);
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
    next = `The database is restored. Run the rest by hand: copy ${path.join(plan.backupDir, filesFolder)}/ into ${plan.library}/ (rsync -a), then docker compose up -d in ${plan.appDir}.`;

    const copied = await copyFilesBack(plan, deps);
    step(
      `Copied ${plural(copied.files, 'file')} (${formatBytes(copied.bytes)}) into ${plan.library}.`,
    );
    next = `The database and the files are back. Start Immich by hand: docker compose up -d in ${plan.appDir}.`;

    await composeUp(gateway, flavour, project, [], signal);
    step('Started Immich.');
    next = `Immich is started: look at what the checks found (docker logs ${kit.serverContainer}).`;
  } catch (error) {
    const failure = toAgentError(error, 'RESTORE_FAILED', 'restore');
    log.error({ step: 'restore', code: failure.code }, failure.longMessage);
    return { ok: false, done, problems: [], failure: { message: failure.longMessage, next } };
  }

  const problems: string[] = [];
  const down = await staysUp(docker, kit.serverContainer, deps.settleSeconds ?? 10);
  if (down) problems.push(`the server container ${down}`);
  const expected = await dumpRowCounts(plan.dumpFile, plan.format, kit.database, signal);
  problems.push(...(await compareRowCounts(docker, target, expected)));
  const originals = await missingOriginals(plan.dumpFile, plan.format, {
    database: kit.database,
    library: plan.library,
    uploadMounts: kit.uploadMounts,
    signal,
  });
  if (originals.missing.length > 0) {
    problems.push(
      `${plural(originals.missing.length, 'original')} the database references ${originals.missing.length === 1 ? 'is' : 'are'} not in the library (${originals.missing.slice(0, 5).join(', ')}${originals.missing.length > 5 ? ', …' : ''})`,
    );
  }
  if (problems.length === 0) {
    step(
      `Checked: ${kit.serverContainer} stays up, ${plural(expected.size, 'table')} hold the dump's rows, and ${plural(originals.checked, 'original')} the database references ${originals.checked === 1 ? 'is' : 'are'} in the library.`,
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

async function ensureImage(
  plan: FromDrivePlan,
  planned: PlannedImage,
  deps: FromDriveDeps,
): Promise<string> {
  const { image, role } = planned;
  if (!image) return `The kit names no ${role} image: compose takes the compose file's.`;
  if ((await deps.docker.imageInfo(image.id).catch(() => null)) !== null)
    return `The ${role} image ${image.reference} is here.`;
  if (image.saved) {
    const load = deps.loadKitImage ?? loadKitImage;
    await load(deps.docker, plan.kitDir, image, { signal: deps.signal });
    return `Loaded the ${role} image ${image.reference} from the drive.`;
  }
  const pull = image.repoDigests[0] ?? image.reference;
  throw new AgentError(
    'IMAGE_MISSING',
    `The ${role} image ${image.reference} (${image.id}) is not here and the drive holds no copy.`,
    {
      step: 'restore',
      hint: `Pull it (docker pull ${pull}), then run the restore again.`,
    },
  );
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
    });
    return { files: copied.transferredFiles, bytes: copied.transferredBytes };
  } finally {
    await library.handle.close();
  }
}
