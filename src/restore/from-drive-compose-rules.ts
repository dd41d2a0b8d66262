import { parseDocument, visit } from 'yaml';
import { AgentError } from '../errors.js';

/**
 * The rules a backed-up compose file must keep to before the agent reads it further: what compose
 * and the agent would each make of it must be the same, and no more than Immich's own file asks.
 */

/** The compose file as plain YAML: no explicit tag (`!!binary`, `!reset`…), no warning, no error. */
export function plainDocument(composeText: string): unknown {
  const document = parseDocument(composeText, { merge: true });
  const problems = [...document.errors, ...document.warnings].map((problem) =>
    (problem.message.split('\n')[0] ?? '').replace(/:$/, ''),
  );
  visit(document, {
    Node(_key, node) {
      if (node.tag !== undefined) problems.push(`the explicit tag ${node.tag}`);
    },
  });
  if (problems.length > 0) {
    throw new AgentError(
      'NO_BACKUP',
      `The backed-up compose file is not plain YAML the agent reads as compose does: ${problems.join('; ')}.`,
      { step: 'restore', hint: 'Follow RESTORE.md by hand.' },
    );
  }
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

/** The service keys Immich's compose file uses (and `x-…` extensions); any other is refused. */
const serviceKeys = new Set([
  'image',
  'container_name',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'volumes',
  'ports',
  'restart',
  'depends_on',
  'healthcheck',
  'networks',
  'labels',
  'shm_size',
  'tmpfs',
  'hostname',
  'user',
]);
const topKeys = new Set(['name', 'services', 'volumes', 'networks']);
const longVolumeKeys = new Set(['type', 'source', 'target', 'read_only']);

const isExtension = (key: string): boolean => key.startsWith('x-');
const isEmpty = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);

/**
 * The keys the file uses, against allowlists: top level name, services, volumes, networks
 * (declared without configuration) and `x-…`; per service only the keys above, an image and a
 * container name that are strings, long-syntax volumes with type, source, target and read_only.
 */
export function keyProblems(document: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const key of Object.keys(document))
    if (!topKeys.has(key) && !isExtension(key)) found.push(`top-level ${key}`);
  if (document.name !== undefined && typeof document.name !== 'string')
    found.push('a name that is not a string');
  for (const key of ['volumes', 'networks']) {
    const declared = document[key];
    if (isEmpty(declared)) continue;
    if (typeof declared !== 'object' || Array.isArray(declared)) {
      found.push(`top-level ${key} that is not a map`);
      continue;
    }
    for (const [name, value] of Object.entries(declared as Record<string, unknown>))
      if (!isEmpty(value)) found.push(`the ${key.slice(0, -1)} ${name} is configured`);
  }
  const services = document.services;
  if (services === null || typeof services !== 'object' || Array.isArray(services))
    return [...found, 'services that are not a map'];
  for (const [name, service] of Object.entries(services as Record<string, unknown>)) {
    if (service === null || typeof service !== 'object' || Array.isArray(service)) {
      found.push(`${name}: not a map`);
      continue;
    }
    const entries = service as Record<string, unknown>;
    for (const key of Object.keys(entries))
      if (!serviceKeys.has(key) && !isExtension(key)) found.push(`${name}: ${key}`);
    if (typeof entries.image !== 'string') found.push(`${name}: an image that is not a string`);
    if (entries.container_name !== undefined && typeof entries.container_name !== 'string')
      found.push(`${name}: a container_name that is not a string`);
    // A service's networks: names, or names with at most their aliases.
    const networks = entries.networks;
    if (networks !== undefined && !Array.isArray(networks) && typeof networks === 'object') {
      for (const [network, value] of Object.entries(networks ?? {}))
        if (!isEmpty(value) && Object.keys(value as object).some((key) => key !== 'aliases'))
          found.push(`${name}: the network ${network} is configured`);
    }
    if (entries.volumes !== undefined && !Array.isArray(entries.volumes))
      found.push(`${name}: volumes that are not a list`);
    for (const volume of Array.isArray(entries.volumes) ? (entries.volumes as unknown[]) : []) {
      if (typeof volume === 'string') continue;
      if (volume === null || typeof volume !== 'object') {
        found.push(`${name}: a volume ${String(volume)}`);
        continue;
      }
      for (const key of Object.keys(volume))
        if (!longVolumeKeys.has(key)) found.push(`${name}: a volume's ${key}`);
    }
  }
  return found;
}

/**
 * `$$`, `${NAME}`, `${NAME:-x}`, `${NAME-x}` and `$NAME`; x without `$`, `{` or `}` (compose-go
 * counts braces in a default, `${S:-{x}}`, where the agent's reading would end at the first).
 */
const reference = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^{}$]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Interpolations that are not the plain forms above, or name a variable `defined` does not hold
 * (compose would take it from wherever it found it): each as a problem. `$$` is a dollar.
 */
export function referenceProblems(text: string, defined: (name: string) => boolean): string[] {
  const found: string[] = [];
  const rest = text.replace(reference, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name !== undefined && !defined(name)) found.push(`${whole}, which .env does not define`);
    return '';
  });
  if (rest.includes('$')) found.push(`an interpolation the agent does not read: ${text}`);
  return found;
}

/** Every string in a parsed YAML value, keys too. */
export function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([key, inner]) => [key, ...stringsOf(inner)]);
  return [];
}

/** compose-go's NormalizeProjectName: lowercased, only [a-z0-9_-], no leading `_` or `-`. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}
