import { spawn } from 'node:child_process';
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
