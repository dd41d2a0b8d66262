import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Sandbox } from './sandbox.js';

/**
 * One bash a person pastes blocks into, one at a time, as in a terminal: what a block sets (a
 * variable, the current folder) is there for the next. `paste` resolves with what the block
 * printed once bash has read and run all of it.
 */
export interface Terminal {
  paste(block: string, timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  /** Everything printed so far, both streams. */
  transcript(): string;
}

export function openTerminal(sandbox: Sandbox, options: { cwd: string; path: string }): Terminal {
  const shell = spawn('bash', ['--noprofile', '--norc'], {
    cwd: options.cwd,
    env: { ...process.env, PATH: options.path, LC_ALL: 'C.UTF-8' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  sandbox.defer('close the terminal', () => {
    if (shell.exitCode !== null || shell.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      shell.once('exit', () => resolve());
      shell.stdin.end();
      shell.kill('SIGTERM');
    });
  });
  let stdout = '';
  let stderr = '';
  let all = '';
  shell.stdout
    .setEncoding('utf8')
    .on('data', (chunk: string) => ((stdout += chunk), (all += chunk)));
  shell.stderr
    .setEncoding('utf8')
    .on('data', (chunk: string) => ((stderr += chunk), (all += chunk)));
  let pasted = 0;
  return {
    transcript: () => all,
    paste(block, timeoutMs = 5 * 60_000) {
      pasted += 1;
      const marker = `::pasted ${pasted} ${Math.random().toString(36).slice(2)}::`;
      const [outAt, errAt] = [stdout.length, stderr.length];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`block ${pasted} still running`)),
          timeoutMs,
        );
        const check = () => {
          if (stdout.includes(`${marker}\n`, outAt)) finish(null);
        };
        const exited = () => finish(new Error(`bash exited while running block ${pasted}`));
        const finish = (error: Error | null) => {
          clearTimeout(timer);
          shell.stdout.off('data', check);
          shell.off('exit', exited);
          const printed = {
            stdout: stdout.slice(outAt).replace(`${marker}\n`, ''),
            stderr: stderr.slice(errAt),
          };
          if (error) reject(new Error(`${error.message}:\n${all}`));
          else resolve(printed);
        };
        shell.stdout.on('data', check);
        shell.on('exit', exited);
        shell.stdin.write(`${block}\necho '${marker}'\n`);
      });
    },
  };
}

/**
 * A `docker` first in PATH that gives `docker compose …` (v2, as RESTORE.md writes it) to the
 * docker-compose v1 this machine has. It adapts exactly this: v1 (1.29) refuses the compose
 * file's top-level `name:`, so the file (docker-compose.yml in the current folder, where the
 * guide runs compose) goes to v1 on stdin without that line, its value given as
 * --project-name, with the folder as --project-directory and its .env as --env-file, as v2
 * would take them. Every other docker command is the real docker's, unchanged.
 */
export async function composeV2Shim(sandbox: Sandbox): Promise<string> {
  const real = (await execa('bash', ['-c', 'command -v docker'])).stdout.trim();
  const folder = sandbox.path('docker-compose-v2-shim');
  await mkdir(folder, { recursive: true });
  const script = [
    '#!/bin/bash',
    'if [ "$1" = compose ]; then',
    '  shift',
    '  name=$(sed -n "s/^name:[[:space:]]*//p" docker-compose.yml)',
    '  sed "/^name:/d" docker-compose.yml \\',
    '    | docker-compose --project-name "$name" --project-directory "$PWD" --env-file "$PWD/.env" -f - "$@"',
    '  exit $?',
    'fi',
    `exec '${real.replaceAll("'", `'\\''`)}' "$@"`,
    '',
  ].join('\n');
  await writeFile(path.join(folder, 'docker'), script);
  await chmod(path.join(folder, 'docker'), 0o755);
  return folder;
}
