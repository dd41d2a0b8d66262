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
