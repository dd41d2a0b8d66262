import { pino, type Logger, type StreamEntry } from 'pino';
import { createRequire } from 'node:module';
import type { PrettyOptions, PrettyStream } from 'pino-pretty';
import { openLogFile } from './log-file.js';
import { escapeControlCharacters } from './text.js';

// Loaded only for a terminal: every run under systemd starts faster without it.
const loadPretty = (): ((options: PrettyOptions) => PrettyStream) =>
  createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => PrettyStream;

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** JSON-lines log file; null writes no file (dry runs, read-only commands). */
  file: string | null;
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Human-readable lines instead of JSON on the console stream (a TTY). */
  pretty: boolean;
  /** Values replaced by *** wherever they would appear in a log line. */
  secrets: readonly string[];
  /** The console stream: stdout normally, stderr for commands whose stdout is data. */
  console?: NodeJS.WritableStream;
}

/**
 * The run in progress in this process (one at a time: the run lock). Every event logged while
 * it runs carries its runId, also those of loggers made before it started (the process gateway,
 * the signal handler), so a run's events can be picked out of a shared log whole. It belongs to
 * the logger made with it, not to the module: each createLogger has its own.
 */
export interface RunScope {
  enter(runId: string): void;
  leave(): void;
}

/**
 * One logger per command, made by the composition root and passed to whoever needs it. Events go
 * as JSON lines to the log file and to the console (journald under systemd), or pretty on a TTY.
 * The file is opened only where root alone decides (see log-file.ts); its destination is
 * synchronous so nothing is lost when the process exits right after a run. Secrets are masked
 * on the serialized line itself, so no field can leak them. JSON escapes every control
 * character of a value; the pretty console escapes them itself.
 */
export function createLogger(options: LoggerOptions): {
  logger: Logger;
  runScope: RunScope;
  fileError: Error | null;
} {
  let currentRun: { runId: string } | null = null;
  const runScope: RunScope = {
    enter: (runId) => {
      currentRun = { runId };
    },
    leave: () => {
      currentRun = null;
    },
  };
  const consoleStream = options.console ?? process.stdout;
  const streams: StreamEntry[] = [
    {
      level: options.level,
      stream: options.pretty
        ? loadPretty()({
            destination: consoleStream,
            sync: true,
            colorize: true,
            translateTime: 'SYS:HH:MM:ss',
            ignore: 'pid,hostname,runId,trigger,step',
            // A path with a newline or a terminal escape in it (a library's file name) must not
            // start a line of its own that looks like the agent's, nor steer the terminal.
            messageFormat: (event, messageKey) =>
              escapeControlCharacters(
                `${typeof event.step === 'string' ? `[${event.step}] ` : ''}${textOf(event[messageKey])}`,
              ),
          })
        : consoleStream,
    },
  ];
  let fileError: Error | null = null;
  if (options.file) {
    const opened = openLogFile(options.file);
    if ('fd' in opened) {
      // Synchronous: every line is in the file before the next statement, so nothing is lost
      // when the process exits right after a run (process.exit, a signal).
      streams.push({
        level: options.level,
        stream: pino.destination({ fd: opened.fd, sync: true }),
      });
    } else {
      // A log that cannot be written, or may not be, must not stop a backup; the caller says why.
      fileError = new Error(opened.refused);
    }
  }
  const secrets = options.secrets.filter((secret) => secret.length > 0);
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A fresh object every time: pino merges into what the mixin returns.
      mixin: () => (currentRun ? { runId: currentRun.runId } : {}),
      hooks: secrets.length > 0 ? { streamWrite: (line) => maskSecrets(line, secrets) } : {},
    },
    pino.multistream(streams),
  );
  return { logger, runScope, fileError };
}

/** A log event's message as text (pino makes it a string; anything else is shown as JSON). */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  // Longest first, so a secret that contains a shorter one is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) masked = masked.split(secret).join('***');
    // The same secret as it appears inside a JSON string.
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) masked = masked.split(escaped).join('***');
  }
  return masked;
}
