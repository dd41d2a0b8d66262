import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isDue,
  isStale,
  latestWindow,
  nextDueAt,
  type DueReason,
} from '../../../src/policy/due.js';

// The default window: Sunday 02:05 local time.
const cron = '5 2 * * 0';
const at = (iso: string): Date => new Date(iso);

// Fixed clocks. Wednesday 15 January 2025, winter: Berlin is UTC+1, so the latest window was
// Sunday 12 January at 02:05 UTC in UTC and at 01:05 UTC in Berlin.
const winterNow = '2025-01-15T12:00:00Z';
// Wednesday 16 July 2025, summer: Berlin is UTC+2, its latest window was 13 July 00:05 UTC.
const summerNow = '2025-07-16T12:00:00Z';

describe('latestWindow', () => {
  const cases: { timezone: string; now: string; window: string }[] = [
    { timezone: 'UTC', now: winterNow, window: '2025-01-12T02:05:00.000Z' },
    { timezone: 'Europe/Berlin', now: winterNow, window: '2025-01-12T01:05:00.000Z' },
    { timezone: 'UTC', now: summerNow, window: '2025-07-13T02:05:00.000Z' },
    { timezone: 'Europe/Berlin', now: summerNow, window: '2025-07-13T00:05:00.000Z' },
  ];
  for (const { timezone, now, window } of cases) {
    test(`on ${now} in ${timezone} the latest window is Sunday 02:05 local, ${window}`, () => {
      assert.equal(latestWindow({ cron, timezone, now: at(now) })?.toISOString(), window);
    });
  }
});

describe('isDue decides whether a backup is due', () => {
  const cases: {
    name: string;
    timezone: string;
    now: string;
    lastSuccessAt: string | null;
    maxAgeDays?: number;
    due: boolean;
    reason: DueReason;
  }[] = [
    {
      name: 'a server never backed up is due',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: null,
      due: true,
      reason: 'NEVER_BACKED_UP',
    },
    {
      name: 'a success after the latest window is not due',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'a success finishing exactly at the latest window is not due',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T02:05:00Z',
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'a success five minutes before the latest window is due for the window',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T02:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'a success the day before the latest window is due for the window',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-11T20:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'in Berlin in winter a success at 02:30 local (01:30 UTC) is after the window',
      timezone: 'Europe/Berlin',
      now: winterNow,
      lastSuccessAt: '2025-01-12T01:30:00Z',
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'in UTC the same success at 01:30 UTC is before the window',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T01:30:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'in Berlin in winter a success at 02:00 local (01:00 UTC) is before the window',
      timezone: 'Europe/Berlin',
      now: winterNow,
      lastSuccessAt: '2025-01-12T01:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'in Berlin in summer a success at 02:30 local (00:30 UTC) is after the window',
      timezone: 'Europe/Berlin',
      now: summerNow,
      lastSuccessAt: '2025-07-13T00:30:00Z',
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'in Berlin in summer a success at 02:00 local (00:00 UTC) is before the window',
      timezone: 'Europe/Berlin',
      now: summerNow,
      lastSuccessAt: '2025-07-13T00:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'a success after the window but older than maxAgeDays is stale',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      maxAgeDays: 2,
      due: true,
      reason: 'STALE',
    },
    {
      name: 'a success after the window and younger than maxAgeDays is not due',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      maxAgeDays: 3.5,
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'a missed window is reported as the window, not as stale',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2024-12-01T03:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      name: 'one minute before the next window the last one is still enough',
      timezone: 'UTC',
      now: '2025-01-19T02:04:00Z',
      lastSuccessAt: '2025-01-12T03:00:00Z',
      due: false,
      reason: 'NOT_DUE',
    },
    {
      name: 'one minute after the next window a new backup is due',
      timezone: 'UTC',
      now: '2025-01-19T02:06:00Z',
      lastSuccessAt: '2025-01-12T03:00:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
    {
      // 02:05 does not exist on 30 March 2025 in Berlin (clocks jump from 02:00 to 03:00); the
      // window is taken at 03:00 local (01:00 UTC) instead of being lost.
      name: 'in Berlin a window that falls into the spring-forward gap still makes a backup due',
      timezone: 'Europe/Berlin',
      now: '2025-03-30T01:30:00Z',
      lastSuccessAt: '2025-03-23T01:30:00Z',
      due: true,
      reason: 'WINDOW_DUE',
    },
  ];

  for (const { name, timezone, now, lastSuccessAt, maxAgeDays = 7, due, reason } of cases) {
    test(name, () => {
      const verdict = isDue({
        now: at(now),
        lastSuccessAt: lastSuccessAt === null ? null : at(lastSuccessAt),
        cron,
        maxAgeDays,
        timezone,
      });
      assert.deepEqual(verdict, { due, reason });
    });
  }

  test('at the exact minute of the window a backup from the week before is due', () => {
    const verdict = isDue({
      now: at('2025-01-19T02:05:00.000Z'),
      lastSuccessAt: at('2025-01-12T03:00:00Z'),
      cron,
      maxAgeDays: 7,
      timezone: 'UTC',
    });
    assert.deepEqual(verdict, { due: true, reason: 'WINDOW_DUE' });
  });
});

describe('nextDueAt says when the next backup becomes due', () => {
  const cases: {
    name: string;
    timezone: string;
    now: string;
    lastSuccessAt: string | null;
    maxAgeDays?: number;
    next: string;
  }[] = [
    {
      name: 'after a success in UTC it is next Sunday at 02:05 UTC',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      next: '2025-01-19T02:05:00.000Z',
    },
    {
      name: 'after a success in Berlin in winter it is next Sunday at 02:05 local (01:05 UTC)',
      timezone: 'Europe/Berlin',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      next: '2025-01-19T01:05:00.000Z',
    },
    {
      name: 'after a success in Berlin in summer it is next Sunday at 02:05 local (00:05 UTC)',
      timezone: 'Europe/Berlin',
      now: summerNow,
      lastSuccessAt: '2025-07-13T03:00:00Z',
      next: '2025-07-20T00:05:00.000Z',
    },
    {
      name: 'when the last success turns stale before the next window, it is the stale time',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      maxAgeDays: 5,
      next: '2025-01-17T03:00:00.000Z',
    },
    {
      name: 'a fraction of a day in maxAgeDays is kept in the stale time',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-12T03:00:00Z',
      maxAgeDays: 3.5,
      next: '2025-01-15T15:00:00.000Z',
    },
    {
      name: 'across the spring-forward change the next window is 03:00 local on that Sunday',
      timezone: 'Europe/Berlin',
      now: '2025-03-26T12:00:00Z',
      lastSuccessAt: '2025-03-23T01:30:00Z',
      next: '2025-03-30T01:00:00.000Z',
    },
    {
      name: 'when a backup is due already, it is now',
      timezone: 'UTC',
      now: winterNow,
      lastSuccessAt: '2025-01-11T20:00:00Z',
      next: new Date(winterNow).toISOString(),
    },
    {
      name: 'when there never was a backup, it is now',
      timezone: 'Europe/Berlin',
      now: winterNow,
      lastSuccessAt: null,
      next: new Date(winterNow).toISOString(),
    },
  ];

  for (const { name, timezone, now, lastSuccessAt, maxAgeDays = 7, next } of cases) {
    test(name, () => {
      const input = {
        now: at(now),
        lastSuccessAt: lastSuccessAt === null ? null : at(lastSuccessAt),
        cron,
        maxAgeDays,
        timezone,
      };
      assert.equal(nextDueAt(input).toISOString(), next);
    });
  }

  test('at the time nextDueAt gives, and not a minute before, the backup is due', () => {
    for (const [timezone, maxAgeDays] of [
      ['UTC', 7],
      ['Europe/Berlin', 7],
      ['UTC', 5],
    ] as const) {
      const base = { cron, maxAgeDays, timezone, lastSuccessAt: at('2025-01-12T03:00:00Z') };
      const next = nextDueAt({ ...base, now: at(winterNow) });
      const before = new Date(next.getTime() - 60_000);
      const after = new Date(next.getTime() + 60_000);
      assert.equal(isDue({ ...base, now: before }).due, false, `${timezone} ${maxAgeDays}`);
      assert.equal(isDue({ ...base, now: after }).due, true, `${timezone} ${maxAgeDays}`);
    }
  });
});

describe('isStale answers the health question apart from the window', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  const days = (n: number): Date => new Date(now.getTime() - n * 24 * 60 * 60 * 1000);
  test('a success 10 days ago with maxAgeDays 7 is stale, although isDue calls it WINDOW_DUE', () => {
    const input = { now, lastSuccessAt: days(10), cron: '5 2 * * 0', maxAgeDays: 7 };
    assert.equal(isDue(input).reason, 'WINDOW_DUE');
    assert.equal(isStale(input), true);
  });
  test('a success 3 days ago is not stale', () => {
    assert.equal(isStale({ now, lastSuccessAt: days(3), maxAgeDays: 7 }), false);
  });
  test('no success ever is stale', () => {
    assert.equal(isStale({ now, lastSuccessAt: null, maxAgeDays: 7 }), true);
  });
});
