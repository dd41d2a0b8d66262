import assert from 'node:assert/strict';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { feedCommand, type ExecHandle } from '../../../src/adapters/docker-exec-input.js';

/**
 * A command in a container as the engine gives it: `raw` takes stdin, `stdout` is what the
 * demultiplexer passes on. `readBytes` is how much stdin the command reads before it stops
 * (-1: all of it); when it stops, the connection breaks with `writeError` and, when
 * `outputError` is given, the output is torn down with it (the race psql's early exit loses
 * about one time in twenty against a real engine).
 */
function command(options: {
  readBytes: number;
  exitCode: number | null;
  stderr: string;
  stdout?: string;
  writeError?: Error;
  outputError?: Error;
}): { handle: ExecHandle; raw: Duplex; received: () => number } {
  const stdout = new PassThrough();
  let received = 0;
  const stop = (): void => {
    if (options.outputError) stdout.destroy(options.outputError);
    else stdout.end(options.stdout ?? '');
  };
  const raw = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (options.readBytes >= 0 && received > options.readBytes) {
        stop();
        callback(options.writeError ?? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        return;
      }
      callback();
    },
    final(callback) {
      stop();
      callback();
    },
  });
  const handle: ExecHandle = {
    stdout,
    stderr: () => options.stderr,
    exitCode: () => Promise.resolve(options.exitCode),
  };
  return { handle, raw, received: () => received };
}

const input = (megabytes: number): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < megabytes * 16; i += 1) yield Buffer.alloc(64 * 1024, 0x2d);
    })(),
  );

const failure = (error: unknown): Error => new Error(`could not feed: ${(error as Error).message}`);

describe('feeding a command in a container', () => {
  test('a command that reads everything gives its exit code and output', async () => {
    const { handle, raw, received } = command({
      readBytes: -1,
      exitCode: 0,
      stderr: '',
      stdout: 'done',
    });
    const result = await feedCommand(handle, raw, input(2), failure);
    assert.deepEqual(result, { exitCode: 0, stdout: 'done', stderr: '' });
    assert.equal(received(), 2 * 1024 * 1024);
  });

  test('a command that stops at an error is reported by its exit code and stderr, not the broken pipe', async () => {
    const { handle, raw } = command({
      readBytes: 100_000,
      exitCode: 3,
      stderr: 'ERROR:  function no_such_function() does not exist',
    });
    const result = await feedCommand(handle, raw, input(8), failure);
    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /no_such_function/);
  });

  test('also when the broken pipe tore down the output before it ended (an AbortError)', async () => {
    const abort = Object.assign(new Error('The operation was aborted'), {
      name: 'AbortError',
      code: 'ABORT_ERR',
    });
    const { handle, raw } = command({
      readBytes: 100_000,
      exitCode: 3,
      stderr: 'ERROR:  function no_such_function() does not exist',
      writeError: abort,
      outputError: abort,
    });
    const result = await feedCommand(handle, raw, input(8), failure);
    assert.equal(result.exitCode, 3);
    assert.match(result.stderr, /no_such_function/);
  });

  test('a broken pipe of a command that says it succeeded is an error', async () => {
    const { handle, raw } = command({ readBytes: 100_000, exitCode: 0, stderr: '' });
    await assert.rejects(
      feedCommand(handle, raw, input(8), failure),
      /could not feed: write EPIPE/,
    );
  });

  test('an output that breaks off with no exit code to explain it is an error', async () => {
    const { handle, raw } = command({
      readBytes: 100_000,
      exitCode: null,
      stderr: '',
      outputError: new Error('socket hang up'),
    });
    await assert.rejects(
      feedCommand(handle, raw, input(8), failure),
      /could not feed: socket hang up/,
    );
  });

  test('an output that breaks while the input went in whole is an error, whatever the exit code', async () => {
    const { handle, raw } = command({
      readBytes: -1,
      exitCode: 2,
      stderr: '',
      outputError: new Error('socket hang up'),
    });
    await assert.rejects(
      feedCommand(handle, raw, input(1), failure),
      /could not feed: socket hang up/,
    );
  });
});
