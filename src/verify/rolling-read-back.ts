import { whyNotStorable } from '../adapters/filesystem-types.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import type { Logger } from '../log/logger.js';
import {
  collectOriginals,
  type CatalogueSource,
  type RingOriginal,
} from './originals-catalogue.js';
import { planShare, startIndex, type Share } from './read-back-ring.js';
import {
  advanceCursor,
  newReadBackState,
  readReadBackState,
  writeReadBackState,
  type ReadBackState,
  type SliceRead,
} from './read-back-state.js';
import {
  readBackOriginals,
  type ProblemKind,
  type ReadBackOptions,
  type ReadBackResult,
} from './read-back.js';

export interface RollingReadBackInput {
  stateDir: string;
  drive: { uuid: string; filesDir: string; filesystemType: string };
  /** The catalogue of the dump just written (dumpSource), or a test's rows. */
  source: CatalogueSource;
  uploadMounts: readonly string[];
  /** What the drive refused at this backup (the record's files.notStored.names). */
  notStored?: readonly string[];
  fullCycleDays: number;
  maxAgeDays: number;
  budgetSeconds: number;
  signal?: AbortSignal;
  now: () => Date;
  log: Logger;
}

export interface RollingReadBack {
  read: ReadBackResult;
  share: Share;
  /** Originals on the ring (checkable), and where this run started among them. */
  total: number;
  from: number;
  /** This cycle's coverage after the run, 0..1 (1 when this run completed the cycle). */
  cycleCoverage: number;
  completedCycle: boolean;
  state: ReadBackState;
  /** Originals outside the library (external libraries): the backup does not reach them. */
  outside: { count: number; folders: string[] };
  /** Originals named by an earlier run that this run read again first. */
  reread: number;
}

/** The problems a path of the drive can have, as the state keeps them. */
const damageKinds: Partial<Record<ProblemKind, 'mismatch' | 'missing'>> = {
  mismatch: 'mismatch',
  unreadable: 'mismatch',
  missing: 'missing',
  notFollowed: 'missing',
};

/**
 * What a read of the drive's originals is told and gathers, for the rolling and the full read
 * alike: which paths the drive cannot store (named by the backup, or refused by its
 * filesystem), and the problems found, as the state keeps them.
 */
export function damageCollector(
  notStored: readonly string[] | undefined,
  filesystemType: string,
): Pick<ReadBackOptions<RingOriginal>, 'notStorable' | 'onProblem'> & {
  found: SliceRead['found'];
} {
  const refused = new Set(notStored ?? []);
  const found: SliceRead['found'] = [];
  return {
    found,
    notStorable: (path) => refused.has(path) || whyNotStorable(path, filesystemType) !== null,
    onProblem(kind, item) {
      const as = damageKinds[kind];
      if (as) found.push({ kind: as, path: item.path, id: item.id });
    },
  };
}

/**
 * One backup's slice of the rolling read-back: the originals of the dump in ring order, from
 * the drive's cursor on, as many as keep the cycle within verify.fullCycleDays (planShare),
 * read in verify.readBackSeconds at most; then the cursor and the problems found are saved.
 * When the budget ends first, the cycle runs late: said in the log and kept for `status`.
 */
export async function rollingReadBack(input: RollingReadBackInput): Promise<RollingReadBack> {
  const { log, drive } = input;
  const catalogue = await collectOriginals(input.source, input.uploadMounts);
  const ordered = catalogue.originals;
  const state =
    (await readReadBackState(input.stateDir, drive.uuid, input.now())) ??
    newReadBackState(drive.uuid, input.now());
  const from = startIndex(ordered, state.cursor);
  const share = planShare({
    remaining: ordered.length - from,
    cycleStartedAt: new Date(state.cycleStartedAt),
    now: input.now(),
    fullCycleDays: input.fullCycleDays,
    maxAgeDays: input.maxAgeDays,
  });
  const slice = ordered.slice(from, from + share.files);
  // What an earlier run named is read again first, every run, until it reads well (the next
  // backup copies a mismatching original again) or is no longer an original of Immich's.
  const inSlice = new Set(slice.map((original) => original.path));
  const named = new Set(state.problems.map((problem) => problem.path));
  const recheck = ordered.filter(
    (original) => named.has(original.path) && !inSlice.has(original.path),
  );
  const { found, ...collect } = damageCollector(input.notStored, drive.filesystemType);
  const read = await readBackOriginals<RingOriginal>(drive.filesDir, [...recheck, ...slice], {
    budgetMs: input.budgetSeconds * 1000,
    signal: input.signal,
    ...collect,
  });
  const ranOutOfTime = read.stoppedEarly && input.signal?.aborted !== true && read.ioError === null;
  const reread = new Set(
    recheck.slice(0, Math.min(read.done, recheck.length)).map((original) => original.path),
  );
  const next = advanceCursor(state, {
    ordered,
    from,
    done: Math.max(0, read.done - recheck.length),
    reread,
    stillOriginals: new Set(ordered.map((original) => original.path)),
    checkedFiles: read.checkedFiles,
    checkedBytes: read.checkedBytes,
    found,
    behind: ranOutOfTime || share.late,
    now: input.now(),
  });
  await writeReadBackState(input.stateDir, next);
  if (read.ioError !== null)
    throw new Error(
      `the drive stopped answering after ${plural(read.done, 'original')} (${read.ioError}); the cursor stays where the reading stopped`,
    );
  const completedCycle = next.lastFullCycleAt !== state.lastFullCycleAt;
  const outcome: RollingReadBack = {
    read,
    share,
    total: ordered.length,
    from,
    cycleCoverage: completedCycle ? 1 : next.cycleCoverage,
    completedCycle,
    state: next,
    outside: catalogue.outside,
    reread: recheck.length,
  };
  logReadBack(log, outcome, input.budgetSeconds, ranOutOfTime);
  return outcome;
}

function logReadBack(
  log: Logger,
  outcome: RollingReadBack,
  budgetSeconds: number,
  ranOutOfTime: boolean,
): void {
  const { read, share } = outcome;
  const speed = `${formatBytes(read.bytesPerSecond)}/s`;
  const problems = read.mismatches.count + read.missing.count + read.notFollowed.count;
  log[problems > 0 ? 'warn' : 'info'](
    {
      step: 'read-back',
      checkedFiles: read.checkedFiles,
      checkedBytes: read.checkedBytes,
      bytesPerSecond: read.bytesPerSecond,
      mismatches: read.mismatches.count,
      missing: read.missing.count + read.notFollowed.count,
      cycleCoverage: outcome.cycleCoverage,
    },
    `Read back ${plural(read.checkedFiles, 'original')} (${formatBytes(read.checkedBytes)}) on the drive in ${formatDuration(read.durationMs)} at ${speed} against Immich's checksums: ${plural(read.mismatches.count, 'mismatch', 'mismatches')}, ${read.missing.count + read.notFollowed.count} missing; ` +
      (outcome.completedCycle
        ? 'every original on the drive has now been re-read in this cycle.'
        : `${Math.floor(outcome.cycleCoverage * 100)}% of this cycle done, due by ${share.deadline.toISOString().slice(0, 10)}.`),
  );
  if (outcome.outside.count > 0)
    log.info(
      { step: 'read-back', outside: outcome.outside.count },
      `${plural(outcome.outside.count, 'original')} of Immich's external libraries ${outcome.outside.count === 1 ? 'is' : 'are'} outside the backup (the library folder does not hold them): ${outcome.outside.folders.slice(0, 5).join(', ')}.`,
    );
  if (ranOutOfTime) {
    const needed = read.done > 0 ? (budgetSeconds * share.files) / read.done : null;
    log.warn(
      { step: 'read-back', share: share.files, read: read.done },
      `The read-back's share was ${plural(share.files, 'original')}, but only ${read.done} were read within verify.readBackSeconds (${budgetSeconds} s): the cycle runs late.` +
        (needed === null ? '' : ` At ${speed}, about ${Math.ceil(needed)} s would read the share.`),
    );
  } else if (share.late) {
    log.warn(
      { step: 'read-back' },
      `The read-back cycle is past its deadline (${share.deadline.toISOString().slice(0, 10)}): this run read everything left that its time allowed.`,
    );
  }
}
