import path from 'node:path';
import { postgresServerVersion } from '../../adapters/database-info.js';
import { readImmichInstall } from '../../config/immich-discovery.js';
import { readSidecar } from '../../drive-content/sidecar.js';
import { AgentError, isAgentError } from '../../errors.js';
import { formatBytes, formatDuration, plural } from '../../format.js';
import { restoreKitFiles, restoreKitFolder } from '../../layout/drive.js';
import { buildKitManifest, type RunningImage } from '../../restore-kit/build-manifest.js';
import { findBundle } from '../../restore-kit/bundle-source.js';
import { manifestText } from '../../restore-kit/kit-manifest.js';
import { saveImagesIfWanted } from '../../restore-kit/kit-images-step.js';
import { restoreMd } from '../../restore-kit/restore-md.js';
import {
  removeKitFiles,
  sha256Hex,
  sweepPartials,
  writeKitFiles,
  type KitFile,
} from '../../restore-kit/write-kit.js';
import { ensureFolderOnDrive } from '../../session/drive-folders.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';
import { chosenDrive, type StepContext } from '../context.js';

/**
 * restoreKit: keeps `<backupDir>/restore-kit/` what a new machine needs besides the backup:
 * RESTORE.md, restore-kit.json and the agent as one file (and with restoreKit.images the exact
 * images). After the backup is made and checked, so it describes what just ran; a file is
 * rewritten only when its content changed, so a run that changed nothing writes nothing. It never
 * fails the backup: what goes wrong is the run's warning RESTORE_KIT_FAILED. A stopped run
 * (SIGTERM) does not start it, and one stopped while an image is saved ends as INTERRUPTED with
 * nothing more written.
 */
export async function restoreKitStep(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, state, log } = context;
  if (!config.restoreKit.enabled || state.failed || context.signal.aborted) return;
  if (context.request.dryRun) {
    log.info(
      { step: 'restore-kit' },
      `Would bring ${path.join(target.backupDir, restoreKitFolder)} up to date.`,
    );
    return;
  }
  const started = Date.now();
  try {
    await writeKit(context, target);
    const kit = state.restoreKit;
    const took = formatDuration(Date.now() - started);
    const images = kit?.images?.saved ? [plural(kit.images.saved, 'image')] : [];
    const bytes = (kit?.bytesWritten ?? 0) + (kit?.images?.bytesWritten ?? 0);
    log.info(
      { step: 'restore-kit', durationMs: Date.now() - started, ...kit },
      kit?.unchanged
        ? `The restore kit on the drive is up to date (checked in ${took}).`
        : `Updated the restore kit on the drive: ${[...(kit?.written ?? []), ...images].join(', ')} (${formatBytes(bytes)}) in ${took}.`,
    );
  } catch (error) {
    if (isAgentError(error, 'INTERRUPTED')) throw error;
    const message = `The restore kit on the drive could not be brought up to date: ${(error as Error).message}`;
    log.warn({ step: 'restore-kit', err: error }, message);
    state.warnWithCode('RESTORE_KIT_FAILED', message);
  }
}

async function writeKit(context: StepContext, target: PreparedDrive): Promise<void> {
  const { config, docker, state, log } = context;
  const { immich } = config;
  await ensureFolderOnDrive(
    context.drive,
    target.filesystem,
    target.backupDir,
    restoreKitFolder,
    true,
  );
  const kitDir = path.join(target.backupDir, restoreKitFolder);
  await sweepPartials(kitDir); // what a killed run left half-written
  const [server, database, install, postgresVersion, bundle] = await Promise.all([
    runningImage(context, immich.serverContainer),
    runningImage(context, immich.databaseContainer),
    readImmichInstall(immich.appDir),
    postgresVersionOfDump(context, target),
    findBundle(),
  ]);
  const wanted = [server, database].filter((image): image is RunningImage => image !== null);
  // Images that cannot be saved keep the rest of the kit from nothing: it is written without
  // them (naming those saved before or found there); a stop ends the step here (INTERRUPTED).
  const images = await saveImagesIfWanted(config.restoreKit.images, docker, wanted, kitDir, {
    signal: context.signal,
    log,
    ledger: { stateDir: config.stateDir, driveUuid: target.filesystem.uuid },
  });
  if (context.signal.aborted)
    throw new AgentError('INTERRUPTED', 'The run was stopped while the restore kit was written.', {
      step: 'restore-kit',
    });
  const files: KitFile[] = [];
  if ('content' in bundle)
    files.push({ name: restoreKitFiles.agent, content: bundle.content, mode: 0o755 });
  const manifest = buildKitManifest({
    agentVersion: context.agentVersion,
    // Without a bundle, no manifest is written (it names the bundle): this only fills the field.
    agentSha256: sha256Hex('content' in bundle ? bundle.content : Buffer.alloc(0)),
    envImmichVersion: immich.immichVersion,
    serverContainer: immich.serverContainer,
    databaseContainer: immich.databaseContainer,
    database: immich.databaseName,
    databaseUser: immich.databaseUser,
    env: {
      uploadLocation: install.env.get('UPLOAD_LOCATION') ?? null,
      dbDataLocation: install.env.get('DB_DATA_LOCATION') ?? null,
    },
    uploadMounts: immich.uploadMounts,
    postgresServerVersion: postgresVersion,
    server,
    databaseImage: database,
    savedIds: new Set([...images.saved, ...images.present].map((image) => image.id)),
    composeFileName: path.basename(immich.composeFile ?? 'docker-compose.yml'),
  });
  const guide = restoreMd({
    manifest,
    appDir: immich.appDir,
    libraryDir: immich.libraryDir,
    backupFolder: chosenDrive(context).backupDir,
    hasAgent: 'content' in bundle,
  });
  files.push({ name: restoreKitFiles.guide, content: Buffer.from(guide), mode: 0o644 });
  // Last: the manifest names the agent's sha256, so it goes in once the agent is there.
  if ('content' in bundle)
    files.push({
      name: restoreKitFiles.manifest,
      content: Buffer.from(manifestText(manifest)),
      mode: 0o644,
    });
  await context.drive.proveOnDrive(kitDir, target.filesystem);
  // Without the bundle, an earlier run's agent and manifest would contradict the new RESTORE.md
  // (and --from-drive would trust a manifest naming an agent this run did not vouch for): the
  // manifest goes first (it names the agent), then the agent, then RESTORE.md is written.
  const removed =
    'missing' in bundle
      ? await removeKitFiles(kitDir, [restoreKitFiles.manifest, restoreKitFiles.agent])
      : [];
  const written = await writeKitFiles(kitDir, files);
  const imagesWritten = images.saved.reduce((sum, image) => sum + image.bytes, 0);
  state.restoreKit = {
    written: written.written,
    unchanged: written.written.length === 0 && images.saved.length === 0 && removed.length === 0,
    bytesWritten: written.bytesWritten,
    images: config.restoreKit.images
      ? { saved: images.saved.length, present: images.present.length, bytesWritten: imagesWritten }
      : null,
  };
  for (const skipped of images.skipped)
    log.warn(
      { step: 'restore-kit', image: skipped.id },
      `Did not save image ${skipped.id} in the restore kit: ${skipped.reason}.`,
    );
  if (images.problem !== null) {
    const problem = images.problem;
    throw new AgentError('RESTORE_KIT_FAILED', `the images were not saved: ${problem.message}`, {
      step: 'restore-kit',
      cause: problem,
    });
  }
  if ('missing' in bundle) {
    throw new AgentError(
      'RESTORE_KIT_FAILED',
      `the agent as one file is not in it (${bundle.missing}); RESTORE.md says how to restore by hand`,
      { step: 'restore-kit', hint: 'Install the agent from a package built with `npm run build`.' },
    );
  }
}

/** The image a container runs (reference, id, registry digests), or null when it is not there. */
async function runningImage(context: StepContext, container: string): Promise<RunningImage | null> {
  const state = await context.docker.inspect(container);
  if (state === null) return null;
  const info = await context.docker.imageInfo(state.imageId);
  return {
    reference: state.image,
    id: state.imageId,
    repoDigests: info?.repoDigests ?? [],
    ...(info ? { bytes: info.size } : {}),
  };
}

/** PostgreSQL's version as the dump's sidecar has it, else as the server says now. */
async function postgresVersionOfDump(
  context: StepContext,
  target: PreparedDrive,
): Promise<string | null> {
  const { immich, secrets } = context.config;
  const dump = context.state.database?.file;
  const sidecar = dump ? await readSidecar(target.backupDir, dump, context.log) : null;
  return (
    sidecar?.postgres.serverVersion ??
    postgresServerVersion(
      context.docker,
      immich.databaseContainer,
      immich.databaseUser,
      immich.databaseName,
      secrets.databasePassword,
    )
  );
}
