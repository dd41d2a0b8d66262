import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { AgentError } from '../../../src/errors.js';
import { UndoStack } from '../../../src/session/undo-stack.js';

const logger = pino({ level: 'silent' });

describe('UndoStack puts the world back in reverse order', () => {
  test('undos run last-in-first-out', async () => {
    const stack = new UndoStack(logger);
    const ran: string[] = [];
    for (const label of ['release the lock', 'unmount the drive', 'start the server']) {
      stack.push(label, () => {
        ran.push(label);
        return Promise.resolve();
      });
    }
    assert.equal(stack.size, 3);
    assert.deepEqual(await stack.unwind(), []);
    assert.deepEqual(ran, ['start the server', 'unmount the drive', 'release the lock']);
    assert.equal(stack.size, 0);
  });

  test('each undo finishes before the next one starts', async () => {
    const stack = new UndoStack(logger);
    const events: string[] = [];
    for (const label of ['first', 'second']) {
      stack.push(label, async () => {
        events.push(`${label} begins`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`${label} ends`);
      });
    }
    await stack.unwind();
    assert.deepEqual(events, ['second begins', 'second ends', 'first begins', 'first ends']);
  });

  test('a failing undo is collected and the undos after it still run', async () => {
    const stack = new UndoStack(logger);
    const ran: string[] = [];
    stack.push('release the lock', () => {
      ran.push('release the lock');
      return Promise.resolve();
    });
    stack.push('start the server', () =>
      Promise.reject(
        new AgentError('SERVER_START_FAILED', 'The container did not start.', { step: 'restart' }),
      ),
    );
    stack.push('unmount the drive', () => Promise.reject(new Error('target is busy')));
    stack.push('remove the marker', () => {
      ran.push('remove the marker');
      return Promise.resolve();
    });

    const failures = await stack.unwind();

    assert.deepEqual(ran, ['remove the marker', 'release the lock']);
    assert.deepEqual(
      failures.map((failure) => [
        failure.label,
        failure.error.code,
        failure.error.step,
        failure.error.message,
      ]),
      [
        ['unmount the drive', 'INTERNAL', 'cleanup', 'target is busy'],
        ['start the server', 'SERVER_START_FAILED', 'restart', 'The container did not start.'],
      ],
    );
    assert.equal(stack.size, 0);
  });

  test('a plain error thrown by an undo is kept as the cause of the collected error', async () => {
    const stack = new UndoStack(logger);
    const original = new Error('EBUSY');
    stack.push('unmount the drive', () => Promise.reject(original));
    const [failure] = await stack.unwind();
    assert.ok(failure);
    assert.ok(failure.error instanceof AgentError);
    assert.equal(failure.error.cause, original);
  });

  test('an undo that throws synchronously is collected like one that rejects', async () => {
    const stack = new UndoStack(logger);
    stack.push('restore', () => {
      throw new Error('thrown at once');
    });
    const failures = await stack.unwind();
    assert.deepEqual(
      failures.map((failure) => failure.error.message),
      ['thrown at once'],
    );
  });

  test('unwinding an empty stack does nothing and reports no failures', async () => {
    const stack = new UndoStack(logger);
    assert.deepEqual(await stack.unwind(), []);
    assert.equal(stack.size, 0);
  });

  test('a second unwind does not run the undos again', async () => {
    const stack = new UndoStack(logger);
    let runs = 0;
    stack.push('once', () => {
      runs += 1;
      return Promise.resolve();
    });
    await stack.unwind();
    await stack.unwind();
    assert.equal(runs, 1);
  });

  test('a failing undo is logged as an error with its code and step', async () => {
    const lines: string[] = [];
    const recording = pino(
      { level: 'error' },
      {
        write: (line: string) => {
          lines.push(line);
        },
      },
    );
    const stack = new UndoStack(recording);
    stack.push('start the server', () =>
      Promise.reject(new AgentError('SERVER_START_FAILED', 'Still stopped.', { step: 'restart' })),
    );
    await stack.unwind();
    assert.equal(lines.length, 1);
    const event = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(event.code, 'SERVER_START_FAILED');
    assert.equal(event.step, 'restart');
    assert.equal(event.msg, 'Could not start the server: Still stopped.');
  });
});
