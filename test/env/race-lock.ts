/**
 * One of several processes racing for the agent's run lock, as the hotplug unit, the timer and a
 * person typing `run` can. Prints 'ready', waits for a line on stdin (the test writes it to every
 * racer at once), then tries once: prints 'locked' and holds the lock until killed, or prints
 * 'refused <CODE>' and exits 3.
 * Usage: node dist/test/env/race-lock.js STATE_DIR [RUN_ID]
 */
import path from 'node:path';
import { isAgentError } from '../../src/errors.js';
import { acquireLock } from '../../src/session/lock.js';

const stateDir = process.argv[2] as string;
const runId = process.argv[3] ?? `racer-${process.pid}`;

async function race(): Promise<void> {
  try {
    await acquireLock(path.join(stateDir, 'run.lock'), {
      runId,
      trigger: 'manual',
      startedAt: new Date().toISOString(),
    });
  } catch (error) {
    console.log(`refused ${isAgentError(error) ? error.code : String(error)}`);
    process.exit(3);
  }
  console.log('locked');
  setInterval(() => undefined, 60_000);
}

process.stdin.once('data', () => void race());
console.log('ready');
