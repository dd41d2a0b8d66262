import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { EventBus } from '../../../src/daemon/event-bus.js';

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino(stream), lines };
}

test('a listener that throws or rejects is logged, and the other listeners still run', async () => {
  const { logger, lines } = capturingLogger();
  const bus = new EventBus(logger);
  const seen: string[] = [];
  bus.on('run-started', () => {
    throw new Error('listener one broke');
  });
  bus.on('run-started', () => Promise.reject(new Error('listener two broke')));
  bus.on('run-started', ({ reason }) => {
    seen.push(reason);
  });
  await bus.emit('run-started', { reason: 'scheduled', at: new Date() });
  assert.deepEqual(seen, ['scheduled']);
  const logged = lines.join('');
  assert.match(logged, /listener one broke/);
  assert.match(logged, /listener two broke/);
  assert.match(logged, /The daemon carries on/);
});

test('emitting an event nobody listens to resolves quietly', async () => {
  const { logger, lines } = capturingLogger();
  await new EventBus(logger).emit('run-started', { reason: 'test', at: new Date() });
  assert.deepEqual(lines, []);
});
