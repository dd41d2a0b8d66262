import path from 'node:path';
import { parseDocument } from 'yaml';
import { interpolate } from '../config/dotenv.js';
import { AgentError } from '../errors.js';
import {
  keyProblems,
  plainDocument,
  referenceProblems,
  stringsOf,
} from './from-drive-compose-rules.js';

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
  return plainDocument(composeText);
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

/**
 * The drive's compose file runs as root: refused when it asks for more than Immich's own does.
 * Only the keys Immich's file uses (from-drive-compose-rules.ts); every interpolation plain and of
 * a variable .env defines, read with what compose is given (composeInterpolation); env_file only
 * the app dir's .env; host folders mounted only the library, the database folder and a read-only
 * /etc/localtime; ports only on the server; one service for each of the kit's containers.
 * A first line; the plan lists every service, image and mount for a person to read too.
 */
export function refuseBeyondImmich(
  composeText: string,
  env: ReadonlyMap<string, string>,
  places: {
    appDir: string;
    library: string;
    dbDataDir: string;
    serverContainer: string;
    databaseContainer: string;
    /** The keys the new .env defines: what a reference may name. */
    defined: ReadonlySet<string>;
  },
): void {
  const document = (documentOf(composeText) ?? {}) as Record<string, unknown>;
  const found = keyProblems(document);
  // A quoted "<<" stays a key for the agent and v2; written for v1 it would become a merge.
  if (holdsKey(document, '<<')) found.push('a "<<" key that is not a merge');
  if (found.length === 0) {
    for (const text of stringsOf(document))
      found.push(...referenceProblems(text, (name) => places.defined.has(name)));
  }
  if (found.length === 0) found.push(...serviceProblems(document, composeText, env, places));
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

function serviceProblems(
  document: Record<string, unknown>,
  composeText: string,
  env: ReadonlyMap<string, string>,
  places: Parameters<typeof refuseBeyondImmich>[2],
): string[] {
  const found: string[] = [];
  const services = (document.services ?? {}) as Record<string, Record<string, unknown>>;
  const parsed = composeServices(composeText, env);
  for (const container of [places.serverContainer, places.databaseContainer]) {
    const holders = parsed.filter((service) => service.containerName === container);
    if (holders.length > 1)
      found.push(`${holders.map((service) => service.name).join(', ')} all name ${container}`);
  }
  const declared = new Set(Object.keys(document.volumes ?? {}));
  for (const service of parsed) {
    const raw = services[service.name] ?? {};
    if (raw.ports !== undefined && service.containerName !== places.serverContainer)
      found.push(`${service.name}: ports (only the server publishes one)`);
    const envFiles = raw.env_file === undefined ? [] : [raw.env_file].flat();
    for (const entry of envFiles) {
      const file = typeof entry === 'string' ? entry : (entry as { path?: unknown })?.path;
      if (
        typeof file !== 'string' ||
        path.resolve(places.appDir, interpolate(file, env)) !== path.join(places.appDir, '.env')
      )
        found.push(`${service.name}: env_file ${String(file)}`);
    }
    const volumes = (raw.volumes ?? []) as unknown[];
    service.volumes.forEach((volume, index) => {
      const entry = volumes[index];
      const long = typeof entry === 'string' ? null : (entry as Record<string, unknown>);
      // Long syntax: anything but a named volume or a tmpfs is a host path.
      const type = typeof long?.type === 'string' ? interpolate(long.type, env) : '';
      const host = long ? !['volume', 'tmpfs'].includes(type) : /^[/.~]/.test(volume.source);
      const options = long ? [] : interpolate(String(entry), env).split(':').slice(2);
      if (options.length > 1 || !['ro', 'rw', undefined].includes(options[0]))
        found.push(`${service.name}: a volume's options ${options.join(':')}`);
      if (!host) {
        // A named volume the file declares (or an anonymous one, or a tmpfs): never a path.
        if (type === 'tmpfs' || volume.source === '') return;
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(volume.source) || !declared.has(volume.source))
          found.push(`${service.name}: the volume ${volume.source}, not one the file declares`);
        return;
      }
      const where = path.resolve(places.appDir, volume.source);
      const readOnly = long
        ? long.read_only === true
        : /:ro$/.test(interpolate(String(entry), env));
      // The library for Immich's services, not for the database, which alone runs while the
      // files are copied; the database folder only for the database.
      if (where === places.library && service.containerName !== places.databaseContainer) return;
      if (where === places.dbDataDir && service.containerName === places.databaseContainer) return;
      if (where === '/etc/localtime' && readOnly) return;
      found.push(`${service.name}: mounts ${where}`);
    });
  }
  return found;
}

/** Whether `key` is a key of any map in the parsed document. */
function holdsKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => holdsKey(item, key));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([name, inner]) => name === key || holdsKey(inner, key));
}
