import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { pathProblems } from '../files/root-owned.js';
import { loadConfig, resolveConfigFile } from '../config/load.js';
import { exitCodes } from '../exit-codes.js';
import { escapeControlCharacters } from '../log/text.js';
import { localTime } from './summary.js';

/** The last `count` lines of a file, read from its end (a log grows for years). */
export async function lastLines(file: string, count: number): Promise<string[]> {
  // Only the agent's own log: not through a symlink, not a FIFO, not in a folder someone else
  // controls (a user's link to a root-only file would be shown to the terminal).
  const problems = pathProblems(file);
  if (problems.length > 0) throw new Error(`not reading ${file}: ${problems.join('; ')}`);
  const handle = await open(
    file,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  ).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ELOOP') throw new Error(`not reading ${file}: it is a symlink`);
    throw error;
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`not reading ${file}: it is not a regular file`);
    const size = info.size;
    let position = size;
    let text = '';
    while (position > 0 && text.split('\n').filter(Boolean).length <= count) {
      const length = Math.min(64 * 1024, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      text = buffer.toString('utf8') + text;
    }
    return text.split('\n').filter(Boolean).slice(-count);
  } finally {
    await handle.close();
  }
}

interface LogEvent {
  time?: string;
  level?: string;
  step?: string;
  msg?: string;
  runId?: string;
}

export function formatEvent(line: string): string {
  let event: LogEvent;
  try {
    event = JSON.parse(line) as LogEvent;
  } catch {
    return escapeControlCharacters(line); // not one of ours: shown as it is, escapes escaped
  }
  const time = event.time ? localTime(event.time) : '?';
  const level = String(event.level ?? 'info')
    .toUpperCase()
    .padEnd(5);
  const step = event.step ? `[${String(event.step)}] ` : '';
  // JSON escapes a newline in a file's name; shown as text, it must stay escaped: one event, one
  // line, and no terminal escape from a name reaches the terminal.
  return escapeControlCharacters(`${time}  ${level} ${step}${String(event.msg ?? '')}`);
}

/** `log [-n N] [--json]`: the last N events of the agent's log (default 50, the seed's habit). */
export async function logCommand(
  configFlag: string | undefined,
  options: { count: number; json: boolean },
): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  let lines: string[];
  try {
    lines = await lastLines(config.log.file, options.count);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    process.stdout.write(
      `The log ${config.log.file} does not exist yet: no run has been logged.\n`,
    );
    return exitCodes.failed;
  }
  process.stdout.write(
    lines.map((line) => (options.json ? line : formatEvent(line))).join('\n') +
      (lines.length ? '\n' : ''),
  );
  return exitCodes.ok;
}
