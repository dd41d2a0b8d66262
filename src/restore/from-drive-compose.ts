import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ProcessGateway } from '../adapters/process.js';
import { interpolate } from '../config/dotenv.js';
import { AgentError } from '../errors.js';
import { normalizeProjectName } from './from-drive-compose-rules.js';
import { composeEnvironment, composeInterpolation } from './from-drive-env.js';

/**
 * Docker Compose as a new machine has it: the plugin (`docker compose`, v2), else the old
 * standalone `docker-compose` (v1, Debian bookworm's package). Both are run with argument
 * arrays through the gateway, on the app dir's compose file and .env.
 */
export type ComposeFlavour = 'v2' | 'v1';

export interface ComposeProject {
  appDir: string;
  /** The compose file's name in appDir. */
  composeFile: string;
  /** Its text and the .env values (for v1, which needs the file adjusted). */
  composeText: string;
  env: ReadonlyMap<string, string>;
}

/** Which compose there is: v2 first, as Immich documents it. */
export async function findCompose(
  gateway: ProcessGateway,
  signal?: AbortSignal,
): Promise<ComposeFlavour> {
  for (const [flavour, file, args] of [
    ['v2', 'docker', ['compose', 'version']],
    ['v1', 'docker-compose', ['version', '--short']],
  ] as const) {
    const result = await gateway
      .run({ tool: file, file, args, timeoutMs: 60_000, signal, step: 'restore' })
      .catch(() => null);
    if (result?.exitCode === 0) return flavour;
  }
  throw new AgentError('TOOL_MISSING', 'Neither `docker compose` nor `docker-compose` is here.', {
    step: 'restore',
    hint: 'Install Docker Compose (the docker-compose-plugin package, or docker-compose), then run the restore again.',
  });
}

/**
 * The command and its standard input for `compose <args>` on the project. v2 reads the file as
 * written. v1 (1.29) refuses the top-level `name:` of today's compose files and reads `.env`
 * from the current folder: it is given the project name with -p, the .env with --env-file, and
 * on stdin the same file without `name:` and with its relative env_file entries made absolute.
 * The compose file written into the app dir stays as it was on the drive.
 */
export function composeCommand(
  flavour: ComposeFlavour,
  project: ComposeProject,
  args: readonly string[],
): {
  file: string;
  args: string[];
  input?: string;
  env: Record<string, string>;
  onlyEnv: true;
  cwd: string;
} {
  const composePath = path.join(project.appDir, project.composeFile);
  // The two places through the environment too, which compose takes before .env.
  const env = composeEnvironment(process.env, project.env);
  if (flavour === 'v2') {
    return {
      env,
      onlyEnv: true,
      cwd: project.appDir,
      file: 'docker',
      args: ['compose', '--project-directory', project.appDir, '-f', composePath, ...args],
    };
  }
  // Read as compose v2 reads it (YAML 1.2, merge keys), written for v1's YAML 1.1 (PyYAML): `on`,
  // `yes`, `22:22` are quoted there, so they stay the strings they were.
  const document = (parseYaml(project.composeText, { merge: true }) ?? {}) as Record<
    string,
    unknown
  >;
  const name = composeProjectName(project.composeText, project.env, project.appDir);
  delete document.name;
  const services = (document.services ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const service of Object.values(services)) {
    if (!service || service.env_file === undefined) continue;
    const files: unknown[] = Array.isArray(service.env_file)
      ? (service.env_file as unknown[])
      : [service.env_file];
    service.env_file = files.map((entry) =>
      // Compose interpolates the file's values: a `$` of the path is written `$$`.
      typeof entry === 'string'
        ? path.resolve(project.appDir, entry).replace(/\$/g, () => '$$')
        : entry,
    );
  }
  return {
    env,
    onlyEnv: true,
    // v1 resolves a relative path from its working directory: the app dir, as the check does.
    cwd: project.appDir,
    file: 'docker-compose',
    args: [
      '--project-name',
      name,
      '--project-directory',
      project.appDir,
      '--env-file',
      path.join(project.appDir, '.env'),
      '-f',
      '-',
      ...args,
    ],
    input: stringifyYaml(document, { version: '1.1' }),
  };
}

/**
 * The project compose gives the app: COMPOSE_PROJECT_NAME of .env, else the file's `name:`, else
 * the folder's name; lowercased, only [a-z0-9_-] kept (as compose does).
 */
export function composeProjectName(
  composeText: string,
  env: ReadonlyMap<string, string>,
  appDir: string,
): string {
  let document: unknown = null;
  try {
    document = parseYaml(composeText, { merge: true });
  } catch {
    // Read again, with its error, where it matters (composeServices).
  }
  const named = (document as { name?: unknown } | null)?.name;
  const name =
    env.get('COMPOSE_PROJECT_NAME') ||
    (typeof named === 'string' ? interpolate(named, composeInterpolation(env)) : '') ||
    path.basename(appDir);
  return normalizeProjectName(name) || 'immich';
}

/** `compose <args>` on the project, through the gateway, as composeCommand makes it. */
export function runCompose(
  gateway: ProcessGateway,
  flavour: ComposeFlavour,
  project: ComposeProject,
  args: readonly string[],
  options: { timeoutMs: number; signal?: AbortSignal },
): ReturnType<ProcessGateway['run']> {
  return gateway.run({
    tool: flavour === 'v2' ? 'docker compose' : 'docker-compose',
    ...composeCommand(flavour, project, args),
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    step: 'restore',
  });
}

/** Runs `compose up -d [services]`; fails with compose's own words. */
export async function composeUp(
  gateway: ProcessGateway,
  flavour: ComposeFlavour,
  project: ComposeProject,
  services: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  // One service alone (the database, before the files are copied): without what it depends on,
  // so nothing else runs beside the copy.
  const only = services.length > 0 ? ['--no-deps', ...services] : [];
  const result = await runCompose(gateway, flavour, project, ['up', '-d', ...only], {
    timeoutMs: 30 * 60 * 1000,
    signal,
  });
  if (result.exitCode !== 0) {
    const said = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-4).join(' | ');
    throw new AgentError(
      'RESTORE_FAILED',
      `Starting ${services.length ? services.join(', ') : 'Immich'} with compose failed (exit ${result.exitCode}): ${said}`,
      {
        step: 'restore',
        hint: `Fix what compose says, then start it by hand in ${project.appDir}: docker compose up -d.`,
      },
    );
  }
}
