import { randomBytes } from 'node:crypto';

/**
 * A run's (or a restore's, a verify's) id: when it started, to the second in UTC, and six random
 * hex digits, `20261129T020500Z-a1b2c3`. Record files and log events carry it. The time in it is
 * for people reading a log; nothing is ordered or decided by it (the clock may be wrong): run
 * records are ordered by their sequence (history/sequence.ts), and the random part alone keeps
 * two ids of the same second apart.
 */
export function newRunId(startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
