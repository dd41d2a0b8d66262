import { randomBytes } from 'node:crypto';

/**
 * A run's (or a restore's, a verify's) id: when it started, to the second in UTC, and six random
 * hex digits, `20261129T020500Z-a1b2c3`. Record files and log events carry it.
 */
export function newRunId(startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
