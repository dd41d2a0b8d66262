import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clockSkewMs, isDue, isInFuture, isStale, nextDueAt } from '../../../src/policy/due.js';

// The default window, Sunday 02:05; now is Wednesday 15 January 2025, noon UTC.
const cron = '5 2 * * 0';
const now = new Date('2025-01-15T12:00:00Z');
const later = (ms: number): Date => new Date(now.getTime() + ms);
const minute = 60_000;
const day = 24 * 60 * minute;

describe('a last success recorded in the future (a clock that jumped ahead, then back)', () => {
  const cases: { name: string; lastSuccessAt: Date; due: boolean; stale: boolean }[] = [
    {
      name: 'a second after now is within the skew',
      lastSuccessAt: later(1000),
      due: false,
      stale: false,
    },
    {
      name: 'exactly the skew after now is within it',
      lastSuccessAt: later(clockSkewMs),
      due: false,
      stale: false,
    },
    {
      name: 'a millisecond past the skew is in the future: due and stale',
      lastSuccessAt: later(clockSkewMs + 1),
      due: true,
      stale: true,
    },
    {
      name: 'an hour ahead (an RTC kept in local time) is due and stale',
      lastSuccessAt: later(60 * minute),
      due: true,
      stale: true,
    },
    {
      name: 'a year ahead is due and stale, not "not due" for a year',
      lastSuccessAt: later(365 * day),
      due: true,
      stale: true,
    },
  ];
  for (const { name, lastSuccessAt, due, stale } of cases) {
    test(name, () => {
      const input = { now, lastSuccessAt, cron, maxAgeDays: 7, timezone: 'UTC' };
      assert.deepEqual(isDue(input), { due, reason: due ? 'SUCCESS_IN_FUTURE' : 'NOT_DUE' });
      assert.equal(isStale(input), stale);
      assert.equal(isInFuture(lastSuccessAt, now), due);
      if (due) assert.equal(nextDueAt(input).toISOString(), now.toISOString(), 'due now');
      else assert.ok(nextDueAt(input).getTime() > now.getTime(), 'due later');
    });
  }

  test('the skew is ten minutes: small NTP corrections are no alarm, a jumped clock is', () => {
    assert.equal(clockSkewMs, 10 * minute);
  });

  test('the success after it, at a sensible time, makes the backup fresh again', () => {
    const input = { now, lastSuccessAt: later(-minute), cron, maxAgeDays: 7, timezone: 'UTC' };
    assert.deepEqual(isDue(input), { due: false, reason: 'NOT_DUE' });
    assert.equal(isStale(input), false);
  });
});
