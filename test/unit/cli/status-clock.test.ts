import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyRecord, type RunRecord } from '../../../src/history/record.js';
import { formatStatus } from '../../../src/cli/status-command.js';
import { clockWarning, type Status } from '../../../src/cli/status-read.js';

const now = new Date('2026-11-30T12:00:00Z');
const success = (id: string, finishedAt: string): RunRecord => ({
  ...emptyRecord({
    id,
    trigger: 'hotplug',
    outcome: 'success',
    startedAt: finishedAt,
    finishedAt,
    agentVersion: '0.0.0',
  }),
  message: 'Backed up.',
});

describe('status says when the clock looks wrong', () => {
  test('a record finished more than the skew after now names the run, its time and now', () => {
    const ahead = success('ahead', '2027-03-01T00:00:00.000Z');
    const warning = clockWarning([success('fine', '2026-11-29T00:00:00.000Z'), ahead], now);
    assert.equal(warning?.runId, 'ahead');
    assert.equal(warning?.finishedAt, '2027-03-01T00:00:00.000Z');
    assert.equal(warning?.now, now.toISOString());
    assert.match(
      warning?.message ?? '',
      /clock looks wrong: run ahead .* 2027-03-01T00:00:00.000Z.*2026-11-30T12:00:00.000Z/,
    );
  });

  test('records at sensible times, or a few minutes ahead, raise nothing', () => {
    const fine = success('fine', '2026-11-30T12:05:00.000Z');
    assert.equal(clockWarning([null, fine, success('old', '2020-01-01T00:00:00.000Z')], now), null);
  });

  test('the text tells a stale backup recorded in the future as such, not as "0 ms ago"', () => {
    const ahead = success('ahead', '2027-03-01T00:00:00.000Z');
    const status: Status = {
      health: 'stale',
      clock: clockWarning([ahead], now),
      running: null,
      lastRun: ahead,
      lastSuccessAt: ahead.finishedAt,
      nextDueAt: now.toISOString(),
      drives: [],
      lastRestore: null,
      verification: { lastFullCycleAt: null, coverage: null, mismatches: 0, missing: 0, names: [] },
    };
    const text = formatStatus(status, now);
    assert.match(text, /^Immich backup: STALE: .* in the future; the clock looks wrong/);
    assert.match(text, /Clock: +The clock looks wrong: run ahead/);
    assert.doesNotMatch(text, /0 ms ago/);
    assert.match(text, /Next due: +now/);
  });
});
