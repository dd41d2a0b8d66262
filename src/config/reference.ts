import type { z } from 'zod';
import { configSchema } from './schema.js';

export interface ConfigKey {
  /** Dotted key path, e.g. `schedule.cron`. */
  path: string;
  description: string;
  /** The default as YAML would show it, or null when there is none. */
  defaultValue: string | null;
}

interface Definition {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  defaultValue?: unknown;
}

/**
 * Every leaf key of the schema with its description and default: the source of the configuration
 * reference in docs/configuration.md and in the man page, and of the example file, all checked
 * against it by a test.
 */
export function listConfigKeys(schema: z.ZodType = configSchema): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walk = (
    node: z.ZodType,
    path: string,
    description: string | undefined,
    fallback: unknown,
  ): void => {
    const definition = node.def as unknown as Definition;
    const describedHere = node.description ?? description;
    switch (definition.type) {
      case 'object':
        for (const [key, child] of Object.entries(definition.shape ?? {}))
          walk(child, path ? `${path}.${key}` : key, undefined, undefined);
        return;
      case 'default':
        walk(definition.innerType as z.ZodType, path, describedHere, definition.defaultValue);
        return;
      case 'prefault':
      case 'optional':
        walk(definition.innerType as z.ZodType, path, describedHere, fallback);
        return;
      case 'pipe':
        // A preprocessed object (input is a transform) continues in its output schema.
        walk(
          (definition.in?.def as unknown as Definition).type === 'transform'
            ? (definition.out as z.ZodType)
            : (definition.in as z.ZodType),
          path,
          describedHere,
          fallback,
        );
        return;
      default:
        keys.push({
          path,
          description: describedHere ?? '',
          defaultValue: fallback === undefined ? null : JSON.stringify(fallback),
        });
    }
  };
  walk(schema, '', undefined, undefined);
  return keys;
}

/** A key's default as the references show it: `(required)`, `—` for none, else the value. */
export function shownDefault(key: ConfigKey): string {
  if (key.path === 'drive.uuid') return '(required)';
  if (key.defaultValue === null) return '—';
  return key.defaultValue.replace(/^"(.*)"$/, '$1');
}

/** The configuration table of docs/configuration.md, rendered from the schema (`npm run docs`). */
export function renderConfigReference(): string {
  const rows = listConfigKeys().map((key) => {
    const literal = key.path !== 'drive.uuid' && key.defaultValue !== null;
    const fallback = literal ? `\`${shownDefault(key)}\`` : shownDefault(key);
    return `| \`${key.path}\` | ${fallback} | ${key.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export const referenceStart = '<!-- config-reference:start (npm run docs) -->';
export const referenceEnd = '<!-- config-reference:end -->';

/** Markdown with the section between the markers replaced by the current table. */
export function withConfigReference(markdown: string): string {
  const start = markdown.indexOf(referenceStart);
  const end = markdown.indexOf(referenceEnd);
  if (start < 0 || end < start) throw new Error('no config-reference markers');
  return `${markdown.slice(0, start + referenceStart.length)}\n\n${renderConfigReference()}\n\n${markdown.slice(end)}`;
}
