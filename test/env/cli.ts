import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The repository's root, from dist/test/env/cli.js or test/env/cli.ts alike. */
export const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  fileURLToPath(import.meta.url).includes('/dist/') ? '../../..' : '../..',
);

/** The built CLI, run as a user runs it: `node dist/src/cli/main.js …`. */
export const cliPath = path.join(repoRoot, 'dist/src/cli/main.js');

/**
 * The system bus every agent a test starts talks to, unless the test names its private one:
 * an address where nothing listens. The host's logind must never hear from a test (a scheduled
 * run on a headless host would otherwise ask it to power the machine off), so a test that does
 * not bring its own stand-in gets "bus unreachable", and the machine stays on.
 */
export const noSystemBus = 'unix:path=/nonexistent/immich-backup-agent-test/no-bus';

/** The environment for an agent started by a test: the caller's, with no real system bus. */
export function agentEnv(env: Record<string, string> = {}): Record<string, string> {
  return { DBUS_SYSTEM_BUS_ADDRESS: noSystemBus, ...env };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runAgent(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const result = await execa('node', [cliPath, ...args], {
    reject: false,
    timeout: options.timeoutMs ?? 180_000,
    env: agentEnv(options.env),
    stdin: 'ignore',
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/** The JSON log events a run printed on stdout (it is not a TTY here, so they are JSON lines). */
export function logEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
