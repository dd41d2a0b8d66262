/**
 * Holds the agent's run lock in the given state folder until killed, as a long backup would.
 * Usage: node --import tsx test/env/hold-lock.ts STATE_DIR
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { acquireLock } from '../../src/session/lock.js';

const stateDir = process.argv[2] as string;
mkdirSync(stateDir, { recursive: true });
await acquireLock(path.join(stateDir, 'run.lock'), {
  runId: 'holder',
  trigger: 'manual',
  startedAt: new Date().toISOString(),
});
console.log('locked');
setInterval(() => undefined, 60_000);
