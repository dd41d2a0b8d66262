import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ProcessGateway } from '../adapters/process.js';
import { AgentError } from '../errors.js';
import { runCompose, type ComposeFlavour, type ComposeProject } from './from-drive-compose.js';
import type { ComposeService } from './from-drive-compose-file.js';

/** A mount as compose itself resolved it. */
export interface ResolvedMount {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** A bind's propagation or another bind option than create_host_path. */
  bindOptions?: string[];
}

export interface ResolvedService {
  name: string;
  containerName: string | null;
  image: string;
  mounts: ResolvedMount[];
  /** It publishes ports. */
  ports: boolean;
  /** Keys that give a container more of the host than Immich's need, present in compose's model. */
  hostAccess: string[];
}

export interface ResolvedProject {
  /** The project's name (v2 says it; v1 is given it). */
  name: string | null;
  services: ResolvedService[];
  /**
   * Top-level volumes with a driver or driver options (a named volume can be a host path), that
   * are external (another project's) or named other than the project's own.
   */
  drivenVolumes: string[];
  /** Top-level keys that hand a container files of the host (`secrets`, `configs`). */
  hostFiles: string[];
}

const hostAccessKeys = [
  'privileged',
  'cap_add',
  'devices',
  'device_cgroup_rules',
  'network_mode',
  'pid',
  'ipc',
  'uts',
  'userns_mode',
  'cgroup',
  'cgroup_parent',
  'security_opt',
  'volumes_from',
  'sysctls',
  'extends',
  'build',
  'gpus',
  'runtime',
  'storage_opt',
  'secrets',
  'configs',
  'group_add',
] as const;

/**
 * The compose file and .env written into the new app folder, as compose itself reads them: `config`
 * run with exactly the arguments and environment of the `up` that follows (v2: JSON, v1: YAML).
 * Whatever the agent's own reading of interpolation, quotes or YAML missed, compose's model is
 * what runs: its mounts, names, images, ports and the keys that reach into the host are checked
 * on it before any container exists (a second line behind the allowlist of the file's keys).
 */
export async function composeResolved(
  gateway: ProcessGateway,
  flavour: ComposeFlavour,
  project: ComposeProject,
  signal?: AbortSignal,
): Promise<ResolvedProject> {
  const args = flavour === 'v2' ? ['config', '--format', 'json'] : ['config'];
  const result = await runCompose(gateway, flavour, project, args, {
    timeoutMs: 5 * 60 * 1000,
    signal,
  });
  if (result.exitCode !== 0) {
    throw new AgentError(
      'RESTORE_FAILED',
      `compose cannot read the compose file written into ${project.appDir} (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      { step: 'restore' },
    );
  }
  // v2 writes its model for reuse as a compose file: every `$` of a value as `$$`.
  const model = (
    flavour === 'v2'
      ? JSON.parse(result.stdout, (_key, value: unknown) =>
          typeof value === 'string' ? value.replaceAll('$$', '$') : value,
        )
      : parseYaml(result.stdout)
  ) as {
    name?: unknown;
    services?: Record<string, Record<string, unknown>>;
    volumes?: Record<string, Record<string, unknown> | null>;
    secrets?: unknown;
    configs?: unknown;
  };
  return {
    name: typeof model.name === 'string' ? model.name : null,
    services: Object.entries(model.services ?? {}).map(([name, service]) => ({
      name,
      containerName: typeof service.container_name === 'string' ? service.container_name : null,
      image: typeof service.image === 'string' ? service.image : '',
      mounts: (Array.isArray(service.volumes) ? (service.volumes as unknown[]) : []).map(mountOf),
      ports: present(service.ports),
      hostAccess: hostAccessKeys.filter((key) => present(service[key])),
    })),
    drivenVolumes: Object.entries(model.volumes ?? {})
      .filter(
        ([key, volume]) =>
          present(volume?.driver_opts) ||
          present(volume?.driver) ||
          present(volume?.external) ||
          (typeof volume?.name === 'string' &&
            typeof model.name === 'string' &&
            volume.name !== `${model.name}_${key}`),
      )
      .map(([name]) => name),
    hostFiles: (['secrets', 'configs'] as const).filter((key) => present(model[key])),
  };
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** v2's long form, or v1's `source:target[:mode]` (a source not starting with `/` is a volume). */
function mountOf(entry: unknown): ResolvedMount {
  if (typeof entry === 'string') {
    const match = /^(.*?):(\/[^:]*)(?::([a-z,]+))?$/.exec(entry);
    if (!match) return { type: 'unknown', source: entry, target: '', readOnly: false };
    const [, source = '', target = '', mode = ''] = match;
    return {
      type: source.startsWith('/') ? 'bind' : 'volume',
      source,
      target,
      readOnly: mode.split(',').includes('ro'),
    };
  }
  const long = (entry ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const bind = long.bind && typeof long.bind === 'object' ? long.bind : {};
  return {
    type: text(long.type) || 'unknown',
    source: text(long.source),
    target: text(long.target),
    readOnly: long.read_only === true,
    bindOptions: Object.keys(bind).filter((key) => key !== 'create_host_path'),
  };
}

/**
 * What compose's own model has that the agent's checked reading did not: another project name,
 * other services, container names or images, a host path beyond the library (not for the
 * database), the database folder (for the database) and /etc/localtime read-only, a named volume
 * with a driver, a key that reaches into the host.
 */
export function resolvedProblems(
  resolved: ResolvedProject,
  expected: {
    project: string;
    services: readonly ComposeService[];
    library: string;
    dbDataDir: string;
    serverContainer: string;
    databaseContainer: string;
  },
): string[] {
  const found: string[] = [];
  if (resolved.name !== null && resolved.name !== expected.project)
    found.push(`the project is ${resolved.name}, not ${expected.project}`);
  const planned = new Map(expected.services.map((service) => [service.name, service]));
  for (const service of resolved.services) {
    const mine = planned.get(service.name);
    if (!mine) {
      found.push(`a service ${service.name} the agent did not read`);
      continue;
    }
    if (service.containerName !== mine.containerName)
      found.push(`${service.name}: the container ${String(service.containerName)}`);
    if (service.image !== mine.image) found.push(`${service.name}: the image ${service.image}`);
    for (const key of service.hostAccess) found.push(`${service.name}: ${key}`);
    const database = service.containerName === expected.databaseContainer;
    if (service.ports && service.containerName !== expected.serverContainer)
      found.push(`${service.name}: ports (only the server publishes one)`);
    for (const mount of service.mounts) {
      for (const option of mount.bindOptions ?? [])
        found.push(`${service.name}: a bind's ${option}`);
      if (mount.type === 'volume' && database) {
        found.push(`${service.name}: the volume ${mount.source || '(anonymous)'}`);
        continue;
      }
      if (mount.type === 'volume' || mount.type === 'tmpfs') continue;
      const where = mount.type === 'bind' ? path.resolve(mount.source) : '';
      if (where === expected.library && service.containerName !== expected.databaseContainer)
        continue;
      if (where === expected.dbDataDir && service.containerName === expected.databaseContainer)
        continue;
      if (where === '/etc/localtime' && mount.readOnly) continue;
      found.push(`${service.name}: mounts ${mount.type} ${mount.source || '(none)'}`);
    }
  }
  for (const name of resolved.drivenVolumes)
    found.push(`the volume ${name} has a driver, is external or is named as another's`);
  for (const key of resolved.hostFiles) found.push(`top-level ${key}`);
  return found;
}
