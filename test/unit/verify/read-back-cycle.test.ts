import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  coverageOf,
  daysSince,
  planShare,
  ringPosition,
  startIndex,
  compareRing,
} from '../../../src/verify/read-back-ring.js';
import {
  advanceCursor,
  fullCycleDone,
  newReadBackState,
} from '../../../src/verify/read-back-state.js';

const day = 24 * 60 * 60 * 1000;
const start = new Date('2026-01-04T02:05:00Z');
const at = (days: number): Date => new Date(start.getTime() + days * day);

const ring = (count: number) =>
  Array.from({ length: count }, (_, index) => ({
    id: `asset-${index}`,
    position: ringPosition(`asset-${index}`),
  })).sort(compareRing);

describe('the ring: a place per asset, the same in every dump', () => {
  test('a position is 48 bits of the id’s hash, the same every time', () => {
    const position = ringPosition('a7c3e2f0-1111-4222-8333-444455556666');
    assert.equal(position, ringPosition('a7c3e2f0-1111-4222-8333-444455556666'));
    assert.ok(Number.isSafeInteger(position) && position >= 0 && position < 2 ** 48);
    assert.notEqual(position, ringPosition('a7c3e2f0-1111-4222-8333-444455556667'));
  });

  test('the cursor is found again however the assets came (new ones, deleted ones)', () => {
    const ordered = ring(100);
    assert.equal(startIndex(ordered, null), 0);
    const cursor = ordered[41]!;
    assert.equal(startIndex(ordered, cursor), 42);
    // The cursor's asset was deleted since: reading goes on from the next one.
    const without = ordered.filter((entry) => entry.id !== cursor.id);
    assert.equal(startIndex(without, cursor), 41);
    assert.equal(startIndex(ordered, ordered[99]!), 100);
  });
});

describe('the share keeps a cycle within verify.fullCycleDays', () => {
  const table: {
    days: number;
    remaining: number;
    files: number;
    runsLeft: number;
    late: boolean;
  }[] = [
    // 56 days, weekly backups: 8 runs, an eighth each.
    { days: 0, remaining: 800, files: 100, runsLeft: 8, late: false },
    { days: 7, remaining: 700, files: 100, runsLeft: 7, late: false },
    // A missed week: the runs left read more.
    { days: 21, remaining: 600, files: 120, runsLeft: 5, late: false },
    { days: 49, remaining: 100, files: 100, runsLeft: 1, late: false },
    { days: 52, remaining: 100, files: 100, runsLeft: 1, late: false },
    // Past the deadline: everything left, as far as the budget goes.
    { days: 60, remaining: 300, files: 300, runsLeft: 1, late: true },
    { days: 0, remaining: 7, files: 1, runsLeft: 8, late: false },
    { days: 0, remaining: 0, files: 0, runsLeft: 8, late: false },
  ];
  for (const row of table) {
    test(`day ${row.days}, ${row.remaining} left: ${row.files} now (${row.runsLeft} runs left)`, () => {
      const share = planShare({
        remaining: row.remaining,
        cycleStartedAt: start,
        now: at(row.days),
        fullCycleDays: 56,
        maxAgeDays: 7,
      });
      assert.equal(share.files, row.files);
      assert.equal(share.runsLeft, row.runsLeft);
      assert.equal(share.late, row.late);
      assert.equal(share.deadline.toISOString(), at(56).toISOString());
    });
  }

  test('a cycle shorter than the backups’ interval reads everything each time', () => {
    const share = planShare({
      remaining: 500,
      cycleStartedAt: start,
      now: start,
      fullCycleDays: 5,
      maxAgeDays: 7,
    });
    assert.equal(share.files, 500);
  });

  test('coverage and days since', () => {
    assert.equal(coverageOf(25, 100), 0.25);
    assert.equal(coverageOf(0, 0), 1);
    assert.equal(daysSince(null, start), null);
    assert.equal(daysSince(start.toISOString(), at(41.5)), 41);
  });
});

describe('the cursor goes round and a new cycle starts', () => {
  const ordered = ring(80);

  test('weekly shares go round the ring in eight runs, then lastFullCycleAt is set', () => {
    let state = newReadBackState('uuid-1', start);
    for (let week = 0; week < 8; week += 1) {
      const from = startIndex(ordered, state.cursor);
      const share = planShare({
        remaining: ordered.length - from,
        cycleStartedAt: new Date(state.cycleStartedAt),
        now: at(week * 7),
        fullCycleDays: 56,
        maxAgeDays: 7,
      });
      assert.equal(share.files, 10, `week ${week}`);
      state = advanceCursor(state, {
        ordered,
        from,
        done: share.files,
        checkedFiles: share.files,
        checkedBytes: share.files * 1000,
        found: [],
        behind: false,
        now: at(week * 7),
      });
      if (week < 7) {
        assert.equal(state.lastFullCycleAt, null);
        assert.equal(state.cycleCoverage, ((week + 1) * 10) / 80);
        assert.equal(state.cycleCheckedFiles, (week + 1) * 10);
      }
    }
    assert.equal(state.lastFullCycleAt, at(49).toISOString());
    assert.equal(state.lastCycleStartedAt, start.toISOString());
    assert.equal(state.cycleStartedAt, at(49).toISOString());
    assert.equal(state.cursor, null);
    assert.equal(state.cycleCoverage, 0);
  });

  test('a problem stays named until the stretch that holds it is read again and is good', () => {
    const bad = ordered[15]!;
    let state = newReadBackState('uuid-1', start);
    const read = (from: number, done: number, found: (typeof bad)[]) =>
      advanceCursor(state, {
        ordered,
        from,
        done,
        checkedFiles: done,
        checkedBytes: 0,
        found: found.map((entry) => ({
          kind: 'mismatch' as const,
          path: `p/${entry.id}`,
          id: entry.id,
        })),
        behind: false,
        now: start,
      });
    state = read(10, 10, [bad]);
    assert.deepEqual(
      state.problems.map((problem) => problem.path),
      [`p/${bad.id}`],
    );
    // Another stretch read: the problem stays.
    state = read(20, 10, []);
    assert.equal(state.problems.length, 1);
    // Its own stretch read again, good now: gone.
    state = read(12, 8, []);
    assert.equal(state.problems.length, 0);
  });

  test('a run that read nothing leaves the cursor; a full verify completes a cycle', () => {
    let state = newReadBackState('uuid-1', start);
    state = advanceCursor(state, {
      ordered,
      from: 0,
      done: 0,
      checkedFiles: 0,
      checkedBytes: 0,
      found: [],
      behind: true,
      now: at(1),
    });
    assert.equal(state.cursor, null);
    assert.equal(state.behind, true);
    const full = fullCycleDone(state, at(2), at(3), [
      { kind: 'missing', path: 'library/x.jpg', id: 'asset-3' },
    ]);
    assert.equal(full.lastFullCycleAt, at(3).toISOString());
    assert.equal(full.lastCycleStartedAt, at(2).toISOString());
    assert.equal(full.behind, false);
    assert.deepEqual(full.problems, [
      { kind: 'missing', path: 'library/x.jpg', position: ringPosition('asset-3') },
    ]);
  });
});
