import path from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { interpolate } from '../config/dotenv.js';
import { AgentError } from '../errors.js';

export interface ComposeService {
  name: string;
  /** container_name, interpolated; null when compose names it. */
  containerName: string | null;
  /** image, interpolated ('' when it has none). */
  image: string;
  /** Its volumes as `source → target` (interpolated; short and long syntax). */
  volumes: { source: string; target: string }[];
}

function documentOf(composeText: string): unknown {
  try {
    return parseYaml(composeText, { merge: true });
  } catch (error) {
    throw new AgentError(
      'NO_BACKUP',
      `The backed-up compose file is not YAML: ${(error as Error).message}.`,
      { step: 'restore' },
    );
  }
}

/** The services of a backed-up compose file, their values interpolated with the new .env. */
export function composeServices(
  composeText: string,
  env: ReadonlyMap<string, string>,
): ComposeService[] {
  const document = documentOf(composeText);
  const services = ((document as { services?: unknown } | null)?.services ?? {}) as Record<
    string,
    { container_name?: unknown; image?: unknown; volumes?: unknown } | null
  >;
  return Object.entries(services).map(([name, service]) => ({
    name,
    containerName:
      typeof service?.container_name === 'string' ? interpolate(service.container_name, env) : null,
    image: typeof service?.image === 'string' ? interpolate(service.image, env) : '',
    volumes: (Array.isArray(service?.volumes) ? (service.volumes as unknown[]) : []).map((entry) =>
      volumeOf(entry, env),
    ),
  }));
}

function volumeOf(entry: unknown, env: ReadonlyMap<string, string>) {
  if (typeof entry === 'string') {
    const [source = '', target = ''] = interpolate(entry, env).split(':');
    return target === '' ? { source: '', target: source } : { source, target };
  }
  const long = (entry ?? {}) as { source?: unknown; target?: unknown };
  const text = (value: unknown) => (typeof value === 'string' ? interpolate(value, env) : '');
  return { source: text(long.source), target: text(long.target) };
}

/** The service whose container is `container` (the kit's database container). */
export function serviceOf(services: readonly ComposeService[], container: string): string {
  const found = services.find((service) => service.containerName === container);
  if (found) return found.name;
  throw new AgentError(
    'NO_BACKUP',
    `The backed-up compose file has no service whose container is ${container} (the kit's database container).`,
    { step: 'restore', hint: 'Follow RESTORE.md by hand.' },
  );
}

/**
 * The database service keeps its data in the new, empty DB_DATA_LOCATION and nowhere else: a
 * named volume or another host folder could be another installation's database, which the
 * restore would then empty.
 */
export function assertDatabaseMount(service: ComposeService, dbDataDir: string): void {
  const data = service.volumes.filter((volume) => volume.target === '/var/lib/postgresql/data');
  const other = service.volumes.find(
    (volume) =>
      volume.source !== dbDataDir && volume.source !== '' && volume.source !== '/etc/localtime',
  );
  const ok = data.length === 1 && data[0]?.source === dbDataDir && other === undefined;
  if (ok) return;
  throw new AgentError(
    'RESTORE_FAILED',
    `The backed-up compose file's database service ${service.name} does not keep its data only in \${DB_DATA_LOCATION} (it mounts ${service.volumes.map((volume) => `${volume.source || '(anonymous)'} → ${volume.target}`).join(', ') || 'nothing'}): the restore could open and empty another database.`,
    {
      step: 'restore',
      hint: 'Follow RESTORE.md by hand, with the database service mounting ${DB_DATA_LOCATION}:/var/lib/postgresql/data.',
    },
  );
}

/**
 * The compose file with the `@sha256:…` of the named services' images removed (comments and
 * the rest kept): a loaded image has no registry digest, so compose would pull a pinned one.
 */
export function withoutDigests(composeText: string, services: readonly string[]): string {
  if (services.length === 0) return composeText;
  const document = parseDocument(composeText);
  for (const name of services) {
    const image = document.getIn(['services', name, 'image']);
    if (typeof image === 'string' && image.includes('@'))
      document.setIn(['services', name, 'image'], image.slice(0, image.indexOf('@')));
  }
  return document.toString();
}

/** Service keys that reach beyond the containers Immich needs (the host's devices, its kernel). */
const refusedKeys = [
  'privileged',
  'cap_add',
  'devices',
  'security_opt',
  'build',
  'extends',
  'volumes_from',
  'cgroup_parent',
  'device_cgroup_rules',
];
const hostModes = ['pid', 'network_mode', 'ipc', 'userns_mode', 'uts', 'cgroup'];

/**
 * The drive's compose file runs as root: refused when it asks for more than Immich's own does. No
 * privileged, host namespaces, added capabilities, devices, security options, builds, extends or
 * includes; env_file only the app dir's .env; host folders mounted only the library, the database
 * folder and a read-only /etc/localtime; no external, driver-configured, config or secret files.
 * Read as the agent reads it (YAML with merge keys, the new .env interpolated): a first line;
 * the plan lists every service, image and mount for a person to read too.
 */
export function refuseBeyondImmich(
  composeText: string,
  env: ReadonlyMap<string, string>,
  places: { appDir: string; library: string; dbDataDir: string },
): void {
  const document = (documentOf(composeText) ?? {}) as Record<string, unknown>;
  const found: string[] = [];
  for (const text of stringsOf(document.services)) {
    // What the agent interpolates as compose does; anything else (`${A:+x}`, `${A:?e}`, nested
    // defaults) could become a path the agent did not see.
    const rest = text.replace(
      /\$\$|\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}$]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g,
      '',
    );
    if (rest.includes('$')) found.push(`an interpolation the agent does not read: ${text}`);
  }
  for (const key of ['include', 'configs', 'secrets'])
    if (document[key] !== undefined) found.push(`top-level ${key}`);
  const volumes = (document.volumes ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const [name, volume] of Object.entries(volumes)) {
    if (volume && (volume.external || volume.driver_opts || volume.driver || volume.name))
      found.push(`the volume ${name} is external or configured`);
  }
  const networks = (document.networks ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const [name, network] of Object.entries(networks)) {
    if (network && (network.external || network.driver || network.driver_opts || network.name))
      found.push(`the network ${name} is external or configured`);
  }
  const services = (document.services ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const [name, service] of Object.entries(services)) {
    for (const key of refusedKeys)
      if (service?.[key] !== undefined && service[key] !== false) found.push(`${name}: ${key}`);
    for (const key of hostModes) {
      const value = service?.[key];
      if (typeof value === 'string' && /^(host|container:|service:)/.test(interpolate(value, env)))
        found.push(`${name}: ${key} ${value}`);
    }
    const envFiles = service?.env_file === undefined ? [] : [service.env_file].flat();
    for (const entry of envFiles) {
      const file = typeof entry === 'string' ? entry : (entry as { path?: unknown })?.path;
      if (
        typeof file !== 'string' ||
        path.resolve(places.appDir, interpolate(file, env)) !== path.join(places.appDir, '.env')
      )
        found.push(`${name}: env_file ${String(file)}`);
    }
  }
  for (const service of composeServices(composeText, env)) {
    const raw = (services[service.name]?.volumes ?? []) as unknown[];
    service.volumes.forEach((volume, index) => {
      const bind = (raw[index] as { type?: unknown } | null)?.type === 'bind';
      if (!bind && !/^[/.~]/.test(volume.source)) return;
      const host = path.resolve(places.appDir, volume.source);
      const readOnly =
        /:ro$/.test(String(raw[index])) ||
        (raw[index] as { read_only?: unknown })?.read_only === true;
      if (host === places.library || host === places.dbDataDir) return;
      if (host === '/etc/localtime' && readOnly) return;
      found.push(`${service.name}: mounts ${host}`);
    });
  }
  if (found.length === 0) return;
  throw new AgentError(
    'RESTORE_FAILED',
    `The backed-up compose file asks for more than Immich's own: ${found.join('; ')}. It would run as root on this machine.`,
    {
      step: 'restore',
      hint: 'Read it; if you trust it, start Immich from it by hand (RESTORE.md), else use Immich’s own compose file.',
    },
  );
}

/** Every string value in a parsed YAML value (not the keys). */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}
