import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { forgetFutureWindow } from '../../../src/daemon/handled-window.js';

test('a handled window in the future (beyond the skew) is forgotten; a past one or a few minutes are kept', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const silent = pino({ level: 'silent' });
  const past = Date.parse('2026-02-22T03:00:00Z');
  assert.equal(forgetFutureWindow(past, now, silent), past);
  const minutes = now.getTime() + 5 * 60_000;
  assert.equal(forgetFutureWindow(minutes, now, silent), minutes, 'NTP skew');
  assert.equal(forgetFutureWindow(Date.parse('2027-03-01T03:00:00Z'), now, silent), 0);
});
