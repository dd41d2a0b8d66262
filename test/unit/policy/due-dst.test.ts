import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cron } from 'croner';
import { isDue, latestWindow, nextDueAt } from '../../../src/policy/due.js';

const cron = '5 2 * * 0';
const maxAgeDays = 7;
const hour = 60 * 60 * 1000;

/**
 * 02:05 on Sunday falls inside the hour that daylight saving time skips or repeats, in Europe
 * and in the US. Each row: a zone, when the last backup finished, now, and what must follow.
 */
const cases: {
  name: string;
  timezone: string;
  lastSuccessAt: string;
  now: string;
  maxAgeDays?: number;
  due: boolean;
  reason?: string;
  nextDueAt?: string;
}[] = [
  {
    name: 'Berlin, spring forward: 02:05 does not exist; the window opens at 03:00 CEST, so the week is not skipped',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-03-22T01:30:00Z', // Sun 22 Mar 02:30 CET
    now: '2026-03-29T01:30:00Z', // Sun 29 Mar 03:30 CEST
    due: true,
    reason: 'WINDOW_DUE',
  },
  {
    name: 'Berlin, spring forward: before the (moved) window it is not due yet',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-03-22T01:30:00Z',
    now: '2026-03-29T00:59:00Z', // Sun 29 Mar 01:59 CET
    due: false,
    nextDueAt: '2026-03-29T01:00:00.000Z', // 03:00 CEST
  },
  {
    name: 'Berlin, spring forward: after that window’s backup, next is the next Sunday 02:05 CEST',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-03-29T01:10:00Z', // 03:10 CEST
    now: '2026-03-29T10:00:00Z',
    due: false,
    nextDueAt: '2026-04-05T00:05:00.000Z',
  },
  {
    name: 'Berlin, fall back: 02:05 happens twice; after the first one’s backup the second is not a new window',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-10-25T00:20:00Z', // 02:20 CEST, after the first 02:05
    now: '2026-10-25T01:10:00Z', // 02:10 CET, after the second 02:05
    due: false,
    // That week has 7 days and an hour: the backup turns stale (7 × 24 h) at 01:20 CET, 45
    // minutes before the next window at 02:05 CET, and staleness comes first.
    nextDueAt: '2026-11-01T00:20:00.000Z',
  },
  {
    name: 'Berlin, the week after fall back: with a mid-week backup the next window is Sunday 02:05 CET',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-10-28T12:00:00Z',
    now: '2026-10-30T12:00:00Z',
    due: false,
    nextDueAt: '2026-11-01T01:05:00.000Z',
  },
  {
    name: 'Berlin, fall back: without a backup since last week, the first 02:05 makes it due',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-10-18T00:30:00Z',
    now: '2026-10-25T00:06:00Z', // 02:06 CEST
    due: true,
    reason: 'WINDOW_DUE',
  },
  {
    name: 'New York, spring forward: 02:05 does not exist; the window opens at 03:00 EDT',
    timezone: 'America/New_York',
    lastSuccessAt: '2026-03-01T07:30:00Z', // Sun 1 Mar 02:30 EST
    now: '2026-03-08T07:30:00Z', // Sun 8 Mar 03:30 EDT
    due: true,
    reason: 'WINDOW_DUE',
  },
  {
    name: 'New York, spring forward: at 01:59 EST it is not due yet, and the window is 03:00 EDT',
    timezone: 'America/New_York',
    lastSuccessAt: '2026-03-01T07:30:00Z',
    now: '2026-03-08T06:59:00Z',
    due: false,
    nextDueAt: '2026-03-08T07:00:00.000Z',
  },
  {
    name: 'New York, fall back: 01:30 happens twice, 02:05 once; during the repeated hour it is not due yet',
    timezone: 'America/New_York',
    lastSuccessAt: '2026-10-28T12:00:00Z', // a Wednesday
    now: '2026-11-01T06:30:00Z', // Sun 1 Nov 01:30 EST (the second 01:30)
    due: false,
    nextDueAt: '2026-11-01T07:05:00.000Z', // 02:05 EST
  },
  {
    name: 'New York, fall back: at 02:10 EST the window has passed',
    timezone: 'America/New_York',
    lastSuccessAt: '2026-10-25T06:30:00Z',
    now: '2026-11-01T07:10:00Z',
    due: true,
    reason: 'WINDOW_DUE',
  },
  {
    name: 'a success older than maxAgeDays is stale even when the weekly window was served',
    timezone: 'Europe/Berlin',
    lastSuccessAt: '2026-06-07T00:30:00Z', // Sun 7 Jun 02:30 CEST, after the window
    now: '2026-06-10T00:30:01Z', // three days and a second later
    maxAgeDays: 3,
    due: true,
    reason: 'STALE',
  },
];

describe('is a backup due, across daylight saving time changes', () => {
  for (const row of cases) {
    test(row.name, () => {
      const input = {
        now: new Date(row.now),
        lastSuccessAt: new Date(row.lastSuccessAt),
        cron,
        maxAgeDays: row.maxAgeDays ?? maxAgeDays,
        timezone: row.timezone,
      };
      const verdict = isDue(input);
      assert.equal(verdict.due, row.due);
      if (row.reason) assert.equal(verdict.reason, row.reason);
      if (row.nextDueAt) assert.equal(nextDueAt(input).toISOString(), row.nextDueAt);
    });
  }
});

describe('one window a week, for ten years, in zones with and without DST', () => {
  for (const timezone of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'UTC']) {
    test(`${timezone}: consecutive windows are 7 days apart (±1 h), none skipped, none doubled`, () => {
      const windows = new Cron(cron, { paused: true, timezone }).nextRuns(
        520,
        new Date('2026-01-01T00:00:00Z'),
      );
      assert.equal(windows.length, 520);
      for (let index = 1; index < windows.length; index += 1) {
        const gap = (windows[index] as Date).getTime() - (windows[index - 1] as Date).getTime();
        assert.ok(
          Math.abs(gap - 7 * 24 * hour) <= hour,
          `${(windows[index - 1] as Date).toISOString()} → ${(windows[index] as Date).toISOString()}`,
        );
      }
    });

    test(`${timezone}: the latest window seen from just after each window is that window`, () => {
      const windows = new Cron(cron, { paused: true, timezone }).nextRuns(
        120,
        new Date('2026-01-01T00:00:00Z'),
      );
      for (const window of windows) {
        const seen = latestWindow({ cron, timezone, now: new Date(window.getTime() + 60_000) });
        assert.equal(seen?.toISOString(), window.toISOString());
      }
    });
  }
});
