import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-files.js';

/**
 * Writes the metrics file the way node_exporter's textfile collector asks: under a temporary
 * name in the same folder (`.<name>.partial-<random>`, which the collector does not read, as it
 * reads only `*.prom`), flushed, made 0644 so node_exporter's user can read it, and renamed over
 * the file, so a scrape never sees half a file.
 *
 * A symlink at the target is refused, not written through: root would otherwise write wherever
 * the link points. (Should one appear after the check, the rename replaces the link itself and
 * still writes nothing elsewhere; the temporary file is created exclusively, never through a
 * link either.) The folder is not created: without it node_exporter is not set up here.
 */
export async function writeMetricsFile(target: string, text: string): Promise<void> {
  const info = await lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw failure(`${target} cannot be looked at (${error.code ?? error.message}).`, error);
  });
  if (info?.isSymbolicLink())
    throw failure(`${target} is a symbolic link; the agent does not write through links.`, null, {
      hint: 'Remove the link, or set metrics.textfile to the real path.',
    });
  if (info && !info.isFile()) throw failure(`${target} is not a regular file.`, null);
  try {
    await writeFileAtomic(target, text, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const folder = path.dirname(target);
    const why =
      code === 'ENOENT'
        ? `its folder ${folder} does not exist`
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `${folder} cannot be written (${code})`
          : (error as Error).message;
    throw failure(`Could not write ${target}: ${why}.`, error);
  }
}

function failure(message: string, cause: unknown, options: { hint?: string } = {}): AgentError {
  return new AgentError('METRICS_NOT_WRITTEN', message, {
    step: 'metrics',
    hint:
      options.hint ??
      "Check metrics.textfile: its folder (node_exporter's textfile collector directory) must exist and be writable by root.",
    ...(cause === null ? {} : { cause }),
  });
}
