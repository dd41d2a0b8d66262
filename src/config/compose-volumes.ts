import path from 'node:path';
import { interpolate } from './dotenv.js';

/**
 * Where the server container sees UPLOAD_LOCATION, from the server service's `volumes` in
 * Immich's compose file: `${UPLOAD_LOCATION}:/data` in the current one,
 * `${UPLOAD_LOCATION}:/usr/src/app/upload` in older ones, or the long syntax
 * `{ type: bind, source: …, target: … }`. The paths Immich stores in its database start with
 * that target, so it is what turns them into library paths.
 */

export interface UploadMounts {
  /** Every target the library is mounted at (usually one); empty when none was found. */
  targets: string[];
  /** Targets refused (relative, `..`, `/`, control characters), in words. */
  refused: string[];
}

/** `${UPLOAD_LOCATION}`, `${UPLOAD_LOCATION:-…}` (any of compose's forms) or `$UPLOAD_LOCATION`. */
const uploadVariable =
  /^(?:\$\{UPLOAD_LOCATION(?:(?::?[-?+])[^}]*)?\}|\$UPLOAD_LOCATION(?![A-Za-z0-9_]))/;

/**
 * The targets of the server service's volumes whose source is UPLOAD_LOCATION: written as the
 * variable, or as the same folder it holds (relative paths are relative to the app folder).
 */
export function uploadMountsOf(
  server: { volumes?: unknown } | null | undefined,
  env: ReadonlyMap<string, string>,
  appDir: string,
): UploadMounts {
  const found: UploadMounts = { targets: [], refused: [] };
  const volumes = Array.isArray(server?.volumes) ? (server.volumes as unknown[]) : [];
  const upload = env.get('UPLOAD_LOCATION');
  const sameFolder = (source: string): boolean =>
    !!upload && source !== '' && path.resolve(appDir, source) === path.resolve(appDir, upload);
  for (const volume of volumes) {
    const target = uploadTarget(volume, env, sameFolder);
    if (target === null) continue;
    const problem = targetProblem(target);
    if (problem !== null) found.refused.push(problem);
    else {
      const clean = target.length > 1 ? target.replace(/\/+$/, '') : target;
      if (!found.targets.includes(clean)) found.targets.push(clean);
    }
  }
  return found;
}

/** The target of one volume when its source is UPLOAD_LOCATION, else null. */
function uploadTarget(
  volume: unknown,
  env: ReadonlyMap<string, string>,
  sameFolder: (source: string) => boolean,
): string | null {
  if (typeof volume === 'string') {
    const variable = uploadVariable.exec(volume);
    if (variable) {
      // The variable's own `:-default` holds a colon: what follows it is `:target[:mode]`.
      const rest = interpolate(volume.slice(variable[0].length), env);
      return rest.startsWith(':') ? (rest.slice(1).split(':')[0] ?? null) : null;
    }
    const [source, target] = interpolate(volume, env).split(':');
    return target !== undefined && sameFolder(source ?? '') ? target : null;
  }
  if (typeof volume !== 'object' || volume === null) return null;
  const { type, source, target } = volume as { type?: unknown; source?: unknown; target?: unknown };
  if (typeof source !== 'string' || typeof target !== 'string') return null;
  if (type !== undefined && type !== 'bind') return null;
  const matches =
    uploadVariable.exec(source)?.[0] === source || sameFolder(interpolate(source, env));
  return matches ? interpolate(target, env) : null;
}

/** A target must be an absolute, clean path: it is compared with paths from the database. */
function targetProblem(target: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(target))
    return `the server's volume target ${JSON.stringify(target)} holds a control character`;
  if (!target.startsWith('/'))
    return `the server's volume target ${JSON.stringify(target)} is not an absolute path`;
  if (target.split('/').some((part) => part === '..' || part === '.'))
    return `the server's volume target ${JSON.stringify(target)} holds "." or ".."`;
  // Every path would be "in the library": no original could be told from anything else.
  if (/^\/+$/.test(target)) return 'the server\'s volume target "/" is the container\'s root';
  return null;
}
