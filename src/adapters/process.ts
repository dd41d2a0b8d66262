import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { AgentError, type StepName } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskSecrets } from '../log/logger.js';

/**
 * The one place that starts programs. Arguments are always an array (paths hold spaces, quotes
 * and `$(...)`; there is never a shell), every call has a timeout and can be cancelled, and what
 * is logged has the secrets masked. What an exit code means is decided per tool, by the table
 * the adapter of that tool passes in.
 */
export interface CommandRequest {
  /** Short name for logs and errors ("rsync", "mount"). */
  tool: string;
  file: string;
  args: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Only `env` (and LC_ALL): none of the agent's own environment (a program run as a user). */
  onlyEnv?: boolean;
  /** The working directory (default: the agent's). */
  cwd?: string;
  /** The step that runs the command, for errors. */
  step?: StepName;
  /** Run as this user and group (a notification into a user's own session). */
  uid?: number;
  gid?: number;
  /** Receives stdout as it comes (progress); then only the last 256 kB are kept for the result. */
  onOutput?: (text: string) => void;
  /**
   * Receives stderr as it comes (a copy that names every file it could not write); then only
   * the last 256 kB are kept for the result.
   */
  onErrorOutput?: (text: string) => void;
  /** Written to the program's stdin, which is then closed (rsync's --exclude-from=-). */
  input?: string | Uint8Array;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type ExitMeaning = { outcome: 'ok' | 'warning' | 'error'; meaning: string };
export type ExitCodeTable = Readonly<Record<number, ExitMeaning>>;

export interface ProcessGateway {
  /** Runs the command; throws only when it could not run, timed out or was cancelled. */
  run(request: CommandRequest): Promise<CommandResult>;
  /**
   * Starts a program that holds something while it runs (systemd-inhibit holding an inhibitor
   * lock). Its stdin is a pipe the agent keeps open: `release` closes it, and so does the agent's
   * death, so what it holds is never left behind.
   */
  hold(request: Omit<CommandRequest, 'timeoutMs' | 'signal'>): HeldProcess;
}

export interface HeldProcess {
  /** Resolves with the exit code if the program ends on its own (it failed to hold). */
  readonly exited: Promise<number | undefined>;
  release(): Promise<void>;
}

export function createProcessGateway(options: {
  logger: Logger;
  secrets: readonly string[];
}): ProcessGateway {
  const { logger, secrets } = options;
  return {
    async run(request) {
      const shown = maskSecrets(
        [request.file, ...request.args.map(quoteForLog)].join(' '),
        secrets,
      );
      logger.debug({ step: request.step, command: shown }, `Running ${request.tool}: ${shown}`);
      const subprocess = execa(request.file, request.args, {
        reject: false,
        timeout: request.timeoutMs,
        cancelSignal: request.signal,
        env: { LC_ALL: 'C', ...request.env },
        extendEnv: request.onlyEnv !== true,
        ...(request.input === undefined ? { stdin: 'ignore' as const } : { input: request.input }),
        maxBuffer: 64 * 1024 * 1024,
        // A program that reports progress writes without end over hours: only its tail is kept.
        buffer: { stdout: !request.onOutput, stderr: !request.onErrorOutput },
        ...(request.uid === undefined ? {} : { uid: request.uid, gid: request.gid }),
        ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
      });
      let tail = '';
      if (request.onOutput) {
        const onOutput = request.onOutput;
        // A decoder, not toString: a character split between two chunks stays whole.
        const decoder = new StringDecoder('utf8');
        subprocess.stdout?.on('data', (chunk: Buffer) => {
          const text = decoder.write(chunk);
          tail = (tail + text).slice(-256 * 1024);
          onOutput(text);
        });
      }
      let errorTail = '';
      if (request.onErrorOutput) {
        const onErrorOutput = request.onErrorOutput;
        const decoder = new StringDecoder('utf8');
        subprocess.stderr?.on('data', (chunk: Buffer) => {
          const text = decoder.write(chunk);
          errorTail = (errorTail + text).slice(-256 * 1024);
          onErrorOutput(text);
        });
      }
      const result = await subprocess;
      if (result.isCanceled) {
        throw new AgentError(
          'INTERRUPTED',
          `${request.tool} was stopped because the run was interrupted.`,
          {
            step: request.step,
            cause: result,
          },
        );
      }
      if (result.timedOut) {
        throw new AgentError(
          'TIMEOUT',
          `${request.tool} did not finish within ${Math.round(request.timeoutMs / 1000)} s.`,
          {
            step: request.step,
            cause: result,
          },
        );
      }
      if (result.exitCode === undefined) {
        const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
        throw new AgentError(
          missing ? 'TOOL_MISSING' : 'INTERNAL',
          missing
            ? `${request.tool} is not installed (${request.file} not found).`
            : `${request.tool} could not be run: ${maskSecrets(String(result.shortMessage ?? result.message), secrets)}`,
          {
            step: request.step,
            hint: missing ? `Install ${request.tool} and run again.` : undefined,
            cause: result,
          },
        );
      }
      const durationMs = Math.round(result.durationMs);
      logger.debug(
        { step: request.step, tool: request.tool, exitCode: result.exitCode, durationMs },
        `${request.tool} exited with ${result.exitCode} after ${durationMs} ms.`,
      );
      return {
        exitCode: result.exitCode,
        stdout: request.onOutput ? tail : String(result.stdout),
        stderr: maskSecrets(request.onErrorOutput ? errorTail : String(result.stderr), secrets),
        durationMs,
      };
    },

    hold(request) {
      const shown = maskSecrets(
        [request.file, ...request.args.map(quoteForLog)].join(' '),
        secrets,
      );
      logger.debug({ step: request.step, command: shown }, `Starting ${request.tool}: ${shown}`);
      const child = execa(request.file, request.args, {
        reject: false,
        env: { LC_ALL: 'C', ...request.env },
        stdin: 'pipe',
        stdout: 'ignore',
        stderr: 'pipe',
        forceKillAfterDelay: 2000,
      });
      const exited = child.then((result) => result.exitCode);
      return {
        exited,
        async release() {
          child.stdin?.end();
          const timer = setTimeout(() => child.kill('SIGTERM'), 2000);
          await exited;
          clearTimeout(timer);
        },
      };
    },
  };
}

/** What the table says about an exit code; codes it does not list are errors. */
export function interpretExit(table: ExitCodeTable, exitCode: number): ExitMeaning {
  return table[exitCode] ?? { outcome: 'error', meaning: `unexpected exit code ${exitCode}` };
}

function quoteForLog(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}
