import { mkdir, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DockerAdapter } from '../adapters/docker.js';
import { AgentError } from '../errors.js';
import { plural } from '../format.js';
import { loadKitImage } from '../restore-kit/kit-images.js';
import { shellQuote } from '../restore-kit/text-quoting.js';
import type { ProcessGateway } from '../adapters/process.js';
import type { Logger } from '../log/logger.js';
import type { KitImage } from '../restore-kit/kit-manifest.js';
import { missingOriginals, staysUp } from './from-drive-check.js';
import { composeProjectName, type ComposeProject } from './from-drive-compose.js';
import { composeResolved, resolvedProblems } from './from-drive-compose-config.js';
import type { FromDrivePlan, PlannedImage } from './from-drive-plan.js';
import { inside, openFolder } from './no-follow.js';

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

/**
 * The new app folder: made, then proven to be the real path the plan checked (no link on the
 * way), held open, and its files created in it with 'wx' (never over one that appeared since the
 * plan) and their mode given at creation, through the open folder (a link swapped in is not
 * followed).
 */
export async function writeAppFolder(plan: FromDrivePlan): Promise<void> {
  await mkdir(plan.appDir, { recursive: true, mode: 0o755 });
  // Held open first, then its real path asked of the open folder: a link swapped in on the way
  // between the check and the writes cannot move them.
  const folder = await openFolder(plan.appDir).catch((error: unknown) => {
    throw linkedAway(plan.appDir, String((error as Error).message), error);
  });
  try {
    const real = await realpath(inside(folder));
    if (real !== plan.appDir) throw linkedAway(plan.appDir, `really ${real}`);
    await writeFile(inside(folder, plan.composeName), plan.composeText, {
      flag: 'wx',
      mode: 0o644,
    });
    await writeFile(inside(folder, '.env'), plan.envText, { flag: 'wx', mode: 0o600 });
    await mkdir(inside(folder, path.basename(plan.dbDataDir)), { mode: 0o700 });
  } finally {
    await folder.close();
  }
}

function linkedAway(appDir: string, why: string, cause?: unknown): AgentError {
  return new AgentError(
    'RESTORE_FAILED',
    `The app folder ${appDir} is now reached through a link (${why}): nothing is written there.`,
    { step: 'restore', hint: 'Check who changed it, and give a new, empty --app-dir.', cause },
  );
}

/**
 * Before anything starts: the database's and the server's images, by the reference compose will
 * use, are the kit's (a tag that points elsewhere, `release` say, would start another Immich).
 */
export async function assertComposeUsesKitImages(
  plan: FromDrivePlan,
  docker: DockerAdapter,
): Promise<void> {
  for (const planned of plan.images) {
    if (!planned.image) continue;
    const name = planned.role === 'database' ? plan.databaseService : plan.serverService;
    const service = plan.services.find((candidate) => candidate.name === name);
    if (!service || service.image === '') continue;
    const found = await docker.imageInfo(service.image).catch(() => null);
    if (found?.id === planned.image.id) continue;
    throw new AgentError(
      'RESTORE_FAILED',
      `Compose would run the ${planned.role} service ${service.name} from ${service.image}, which is ${found ? `the image ${found.id}` : 'not on this machine'}, not the kit's ${planned.image.reference} (${planned.image.id}).`,
      {
        step: 'restore',
        hint: `Point it at the kit's image (docker tag ${shellQuote(planned.image.id)} ${shellQuote(service.image)}) or follow RESTORE.md by hand.`,
      },
    );
  }
}

/**
 * Before anything starts: compose's own model of the app folder just written (`config`, with the
 * arguments and environment `up` gets) mounts nothing and names nothing the agent's checked
 * reading did not (mounts, names, images, ports, host access: see resolvedProblems), whatever
 * made compose read the files otherwise than the agent.
 */
export async function assertComposeReadsAsChecked(
  plan: FromDrivePlan,
  project: ComposeProject,
  deps: FromDriveDeps,
): Promise<void> {
  const resolved = await composeResolved(deps.gateway, plan.flavour, project, deps.signal);
  const found = resolvedProblems(resolved, {
    project: composeProjectName(plan.composeText, plan.env, plan.appDir),
    services: plan.services,
    library: plan.library,
    dbDataDir: plan.dbDataDir,
    serverContainer: plan.kit.immich.serverContainer,
    databaseContainer: plan.kit.immich.databaseContainer,
  });
  if (found.length === 0) return;
  throw new AgentError(
    'RESTORE_FAILED',
    `Compose reads the app folder's compose file otherwise than the agent checked it: ${found.join('; ')}. Nothing was started.`,
    {
      step: 'restore',
      hint: 'Read the compose file and .env on the drive; if you trust them, start Immich from them by hand (RESTORE.md).',
    },
  );
}

export async function ensureImage(
  plan: FromDrivePlan,
  planned: PlannedImage,
  deps: FromDriveDeps,
): Promise<string> {
  const { image, role } = planned;
  if (!image) return `The kit names no ${role} image: compose takes the compose file's.`;
  const load = deps.loadKitImage ?? loadKitImage;
  if ((await deps.docker.imageInfo(image.id).catch(() => null)) !== null) {
    // The loader points the kit's reference at the id (docker tag): compose then runs it.
    await load(deps.docker, plan.kitDir, image, { signal: deps.signal });
    return `The ${role} image ${image.reference} is here (${image.id.slice(0, 19)}…).`;
  }
  if (image.saved) {
    await load(deps.docker, plan.kitDir, image, { signal: deps.signal });
    return `Loaded the ${role} image ${image.reference} from the drive.`;
  }
  const pull = image.repoDigests[0] ?? image.reference;
  throw new AgentError(
    'IMAGE_MISSING',
    `The ${role} image ${image.reference} (${image.id}) is not here and the drive holds no copy.`,
    {
      step: 'restore',
      hint: `Pull it (docker pull ${shellQuote(pull)}), then run the restore again.`,
    },
  );
}

/** After Immich started: it stays up, and every original the dump references is there. */
export async function finalChecks(
  plan: FromDrivePlan,
  deps: FromDriveDeps,
): Promise<{ problems: string[]; checked: number }> {
  const kit = plan.kit.immich;
  const problems: string[] = [];
  const down = await staysUp(deps.docker, kit.serverContainer, deps.settleSeconds ?? 10);
  if (down) problems.push(`the server container ${down}`);
  const originals = await missingOriginals(plan.dumpFile, plan.format, {
    database: kit.database,
    library: plan.library,
    uploadMounts: kit.uploadMounts,
    signal: deps.signal,
  });
  if (originals.missing.length > 0) {
    problems.push(
      `${plural(originals.missing.length, 'original')} the database references ${originals.missing.length === 1 ? 'is' : 'are'} not in the library (${originals.missing.slice(0, 5).join(', ')}${originals.missing.length > 5 ? ', …' : ''})`,
    );
  }
  if (originals.checked === 0 && originals.outside > 0) {
    // Nothing looked up is not "all there": the kit's upload mounts do not match the paths.
    problems.push(
      `none of the ${plural(originals.outside, 'original')} the database references is under the kit's upload mounts (${kit.uploadMounts.join(', ')}): none could be checked`,
    );
  }
  return { problems, checked: originals.checked };
}
