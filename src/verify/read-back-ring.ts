import { createHash } from 'node:crypto';

/**
 * The rolling read-back's arithmetic, pure. Every asset has a place on a ring, derived from a
 * hash of its id: the same in every dump (COPY's order is not), spread evenly, and a new asset
 * lands anywhere, so no part of the library is always read last. Each backup reads on from the
 * cursor; when the cursor has gone round the whole ring, every original has been re-read once
 * and a new cycle starts at the ring's beginning.
 */

/** Where the cursor stands: the last asset read in this cycle (position, then id, orders). */
export interface RingPoint {
  position: number;
  id: string;
}

/** 48 bits of SHA-256 of the id: exact in a JavaScript number, collisions vanishingly rare. */
export function ringPosition(assetId: string): number {
  return Number.parseInt(createHash('sha256').update(assetId).digest('hex').slice(0, 12), 16);
}

export function compareRing(a: RingPoint, b: RingPoint): number {
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The index of the first entry of `ordered` after the cursor (0 when the cycle starts). */
export function startIndex(ordered: readonly RingPoint[], cursor: RingPoint | null): number {
  if (cursor === null) return 0;
  let low = 0;
  let high = ordered.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareRing(ordered[middle] as RingPoint, cursor) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

export interface ShareInput {
  /** Originals after the cursor: what is left of this cycle. */
  remaining: number;
  cycleStartedAt: Date;
  now: Date;
  fullCycleDays: number;
  /** About one backup every this many days (schedule.maxAgeDays). */
  maxAgeDays: number;
}

export interface Share {
  /** How many originals this run reads. */
  files: number;
  /** This run and the backups still expected before the cycle's deadline (at least 1). */
  runsLeft: number;
  deadline: Date;
  /** The deadline has passed: this run reads everything left, as far as its budget goes. */
  late: boolean;
}

const day = 24 * 60 * 60 * 1000;

/**
 * This run's share: what is left of the cycle divided by the backups still expected before the
 * cycle's deadline (one now, then one every maxAgeDays), so the cycle ends in time when each run
 * reads its share. With 56 days and weekly backups: 8 runs, an eighth each.
 */
export function planShare(input: ShareInput): Share {
  const deadline = new Date(input.cycleStartedAt.getTime() + input.fullCycleDays * day);
  const left = deadline.getTime() - input.now.getTime();
  const interval = Math.max(1, input.maxAgeDays) * day;
  // Never more runs than a whole cycle has: a cycle start the clock put in the future (it is
  // not trusted) must not make the shares tiny for years.
  const runsPerCycle = Math.max(1, Math.ceil(input.fullCycleDays / Math.max(1, input.maxAgeDays)));
  const runsLeft = Math.min(runsPerCycle, Math.max(1, Math.floor(left / interval)));
  return {
    files: Math.ceil(input.remaining / runsLeft),
    runsLeft,
    deadline,
    late: left <= 0,
  };
}

/** How far a cycle is, 0..1: the originals up to the cursor out of all of them. */
export function coverageOf(readUpTo: number, total: number): number {
  if (total === 0) return 1;
  return Math.min(1, Math.max(0, readUpTo / total));
}

/** Whole days from `since` to `now` (null when there is no since, or it is in the future). */
export function daysSince(since: string | null, now: Date): number | null {
  if (since === null) return null;
  const elapsed = now.getTime() - Date.parse(since);
  // A time ahead of now was written by a clock that was wrong: it proves nothing.
  if (elapsed < -60_000) return null;
  return Math.max(0, Math.floor(elapsed / day));
}
