import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files/atomic-files.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { stateFolder } from '../layout/state-folder.js';
import { coverageOf, ringPosition, type RingPoint } from './read-back-ring.js';

/**
 * Where the rolling read-back of one drive stands, in the state folder (root's, 0600): the
 * cursor on the ring, the cycle's start, when a cycle last went round, and the problems the
 * latest read of each file found. No per-file list: the positions come from the ids each time.
 */
export interface ReadBackProblem {
  kind: 'mismatch' | 'missing';
  path: string;
  position: number;
}

const problemsCap = 1000;

const stateSchema = z.object({
  version: z.literal(1),
  driveUuid: z.string(),
  cycleStartedAt: z.iso.datetime(),
  cursor: z.object({ position: z.number().int().min(0), id: z.string() }).nullable(),
  /** Share of the originals re-read in this cycle when last written, 0..1. */
  cycleCoverage: z.number().min(0).max(1),
  cycleCheckedFiles: z.number().int().min(0),
  cycleCheckedBytes: z.number().min(0),
  lastFullCycleAt: z.iso.datetime().nullable(),
  /** When the last completed cycle started: every original was re-read since then. */
  lastCycleStartedAt: z.iso.datetime().nullable(),
  /** The last run could not read its share in verify.readBackSeconds, or the cycle is late. */
  behind: z.boolean(),
  updatedAt: z.iso.datetime(),
  problems: z
    .array(
      z.object({
        kind: z.enum(['mismatch', 'missing']),
        path: z.string(),
        position: z.number().int().min(0),
      }),
    )
    .max(problemsCap),
});

export type ReadBackState = z.infer<typeof stateSchema>;

export function newReadBackState(driveUuid: string, now: Date): ReadBackState {
  return {
    version: 1,
    driveUuid,
    cycleStartedAt: now.toISOString(),
    cursor: null,
    cycleCoverage: 0,
    cycleCheckedFiles: 0,
    cycleCheckedBytes: 0,
    lastFullCycleAt: null,
    lastCycleStartedAt: null,
    behind: false,
    updatedAt: now.toISOString(),
    problems: [],
  };
}

const fileOf = (stateDir: string, uuid: string): string =>
  path.join(
    stateFolder(stateDir).readBackDir,
    `${uuid.toLowerCase().replace(/[^0-9a-z-]/g, '_')}.json`,
  );

/** The drive's state; null when there is none yet or it is not one (then a cycle starts anew). */
export async function readReadBackState(
  stateDir: string,
  uuid: string,
  now: Date = new Date(),
): Promise<ReadBackState | null> {
  const read = await readSmallRegularFile(fileOf(stateDir, uuid), 4 * 1024 * 1024);
  if ('absent' in read) return null;
  try {
    const checked = stateSchema.safeParse(JSON.parse(read.text));
    // blkid spells a FAT drive's UUID in capitals, a config may not: the same drive.
    return checked.success && checked.data.driveUuid.toLowerCase() === uuid.toLowerCase()
      ? withoutFutureTimes(checked.data, now)
      : null;
  } catch {
    return null;
  }
}

/**
 * The clock is not trusted: a time in the state that is ahead of now was written by a wrong
 * clock. The cycle restarts now, behind (what it read still counts for nothing proven), and a
 * completed cycle's times stay but prove nothing (daysSince gives null for them).
 */
/** A cycle starting now: the cursor at the ring's beginning, nothing read in it yet. */
function cycleFrom(now: Date) {
  return {
    cycleStartedAt: now.toISOString(),
    cursor: null,
    cycleCoverage: 0,
    cycleCheckedFiles: 0,
    cycleCheckedBytes: 0,
  };
}

export function withoutFutureTimes(state: ReadBackState, now: Date): ReadBackState {
  const ahead = (time: string | null): boolean =>
    time !== null && Date.parse(time) > now.getTime() + 60_000;
  if (!ahead(state.cycleStartedAt)) return state;
  return {
    ...state,
    ...cycleFrom(now),
    behind: true,
  };
}

export async function writeReadBackState(stateDir: string, state: ReadBackState): Promise<void> {
  await mkdir(stateFolder(stateDir).readBackDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(
    fileOf(stateDir, state.driveUuid),
    `${JSON.stringify(stateSchema.parse(state))}\n`,
    0o600,
  );
}

export interface SliceRead {
  /** The ring in order (every original of the dump). */
  ordered: readonly RingPoint[];
  /** Where this run started in it, and how many it finished from there on, in order. */
  from: number;
  done: number;
  checkedFiles: number;
  checkedBytes: number;
  /** What this run found, by path (positions from the ids of `ordered`). */
  found: { kind: ReadBackProblem['kind']; path: string; id: string }[];
  /** Paths named before that this run read again (their problem is replaced by what was found). */
  reread?: ReadonlySet<string>;
  /** The paths of every original of the dump: a problem of a path no longer in it is gone. */
  stillOriginals?: ReadonlySet<string>;
  behind: boolean;
  now: Date;
}

/**
 * The state after a run read `done` originals from `from` on: the cursor moves to the last
 * one; the problems of the stretch read are replaced by what was found there now (a file that
 * reads well again is no longer named). Going past the end completes the cycle: lastFullCycleAt
 * is now, and a new cycle starts at the ring's beginning.
 */
export function advanceCursor(state: ReadBackState, read: SliceRead): ReadBackState {
  const { ordered, from, done, now } = read;
  const end = from + done;
  const low = from === 0 ? 0 : (ordered[from]?.position ?? Number.MAX_SAFE_INTEGER);
  const high = end >= ordered.length ? Number.MAX_SAFE_INTEGER : (ordered[end - 1]?.position ?? -1);
  const foundPaths = new Set(read.found.map((entry) => entry.path));
  const kept = state.problems.filter(
    (problem) =>
      (done === 0 || problem.position < low || problem.position > high) &&
      !foundPaths.has(problem.path) &&
      read.reread?.has(problem.path) !== true &&
      read.stillOriginals?.has(problem.path) !== false,
  );
  const problems = [
    ...kept,
    ...read.found.map((entry) => ({
      kind: entry.kind,
      path: entry.path,
      position: ringPosition(entry.id),
    })),
  ].slice(0, problemsCap);
  const common = {
    ...state,
    problems,
    behind: read.behind,
    updatedAt: now.toISOString(),
    cycleCheckedFiles: state.cycleCheckedFiles + read.checkedFiles,
    cycleCheckedBytes: state.cycleCheckedBytes + read.checkedBytes,
  };
  if (end >= ordered.length) {
    return {
      ...common,
      ...cycleFrom(now),
      lastFullCycleAt: now.toISOString(),
      lastCycleStartedAt: state.cycleStartedAt,
    };
  }
  const last = done > 0 ? ordered[end - 1] : undefined;
  return {
    ...common,
    cursor: last ? { position: last.position, id: last.id } : state.cursor,
    cycleCoverage: coverageOf(end, ordered.length),
  };
}

/** After `verify --full` read every original: a whole cycle, its problems all of them. */
export function fullCycleDone(
  state: ReadBackState,
  startedAt: Date,
  now: Date,
  found: SliceRead['found'],
): ReadBackState {
  return {
    ...state,
    ...cycleFrom(now),
    lastFullCycleAt: now.toISOString(),
    lastCycleStartedAt: startedAt.toISOString(),
    behind: false,
    updatedAt: now.toISOString(),
    problems: found
      .slice(0, problemsCap)
      .map((entry) => ({ kind: entry.kind, path: entry.path, position: ringPosition(entry.id) })),
  };
}
