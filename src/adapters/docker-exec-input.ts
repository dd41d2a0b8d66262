import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What a command run in a container gave: its exit code and (the tail of) its output. */
export interface ExecOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A command started in a container, from the caller's side. */
export interface ExecHandle {
  /** The command's stdout, demultiplexed; pipe it with backpressure. */
  stdout: Readable;
  /** The tail of what the command wrote to stderr so far. */
  stderr(): string;
  /** The exit code, once stdout has ended. */
  exitCode(): Promise<number | null>;
}

/** Reads a command's (small) output to its end, with its exit code. */
export async function collect(handle: ExecHandle, limit = 1024 * 1024): Promise<ExecOutput> {
  let stdout = '';
  for await (const chunk of handle.stdout) {
    if (stdout.length < limit) stdout += (chunk as Buffer).toString('utf8');
  }
  return { exitCode: await handle.exitCode(), stdout, stderr: handle.stderr() };
}

/**
 * Streams `input` (with backpressure) into a started command's stdin (`raw`, the engine's
 * connection) and collects what it writes. A command that stops reading (psql stopping at the
 * first error) ends, and the engine closes the connection under the input: the pipe breaks,
 * and whichever side notices first may tear down the output too. The command's own exit code
 * and stderr say more than the broken pipe, so they are what is given back; only a command that
 * says nothing went wrong (exit 0, or no exit code at all) makes the broken stream an error.
 */
export async function feedCommand(
  handle: ExecHandle,
  raw: Duplex,
  input: Readable,
  failure: (error: unknown) => Error,
): Promise<ExecOutput> {
  const output = collect(handle).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  let writeError: unknown = null;
  await pipeline(input, raw).catch((error: unknown) => {
    writeError = error;
    raw.destroy();
  });
  const settled = await output;
  if ('result' in settled) {
    if (writeError !== null && settled.result.exitCode === 0) throw failure(writeError);
    return settled.result;
  }
  const exitCode = await handle.exitCode();
  if (writeError !== null && exitCode !== null && exitCode !== 0) {
    return { exitCode, stdout: '', stderr: handle.stderr() };
  }
  throw failure(settled.error);
}
