import { daysSince } from './read-back-ring.js';
import { readReadBackState, type ReadBackState } from './read-back-state.js';

/** What `status` says about the read-back of a drive's originals, from its state file alone. */
export interface Verification {
  /** When every original on the drive was last re-read (a cycle went round); null: never. */
  lastFullCycleAt: string | null;
  coverage: {
    cycleStartedAt: string;
    /** Share of the originals re-read in the cycle now running, 0..1. */
    share: number;
    /** Every original was re-read within this many days (since the last cycle's start). */
    everyOriginalWithinDays: number | null;
    /** The last read-back could not read its share in its time, or the cycle is past due. */
    behind: boolean;
    /** When a read-back last ran. */
    lastReadAt: string;
  } | null;
  /** Originals whose latest read did not match Immich's checksum, and that were missing. */
  mismatches: number;
  missing: number;
  /** Their paths (the first 1000). */
  names: string[];
}

export function verificationOf(state: ReadBackState | null, now: Date): Verification {
  if (state === null) {
    return { lastFullCycleAt: null, coverage: null, mismatches: 0, missing: 0, names: [] };
  }
  return {
    lastFullCycleAt: state.lastFullCycleAt,
    coverage: {
      cycleStartedAt: state.cycleStartedAt,
      share: state.cycleCoverage,
      everyOriginalWithinDays: daysSince(state.lastCycleStartedAt, now),
      behind: state.behind,
      lastReadAt: state.updatedAt,
    },
    mismatches: state.problems.filter((problem) => problem.kind === 'mismatch').length,
    missing: state.problems.filter((problem) => problem.kind === 'missing').length,
    names: state.problems.map((problem) => problem.path),
  };
}

export async function readVerification(
  stateDir: string,
  uuid: string,
  now: Date,
): Promise<Verification> {
  return verificationOf(await readReadBackState(stateDir, uuid, now), now);
}

/** One line for a person: "every original re-read within the last 41 days; 0 mismatches". */
export function verificationLine(verification: Verification): string {
  const { coverage } = verification;
  if (coverage === null) return 'no original re-read against Immich’s checksums yet';
  const problems = [
    `${verification.mismatches} mismatch${verification.mismatches === 1 ? '' : 'es'}`,
    verification.missing > 0 ? `${verification.missing} missing` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const behind = coverage.behind ? ' (BEHIND: raise verify.readBackSeconds)' : '';
  const where =
    coverage.everyOriginalWithinDays !== null
      ? `every original re-read within the last ${coverage.everyOriginalWithinDays} day${coverage.everyOriginalWithinDays === 1 ? '' : 's'}`
      : `not every original re-read yet: ${Math.floor(coverage.share * 100)}% of this cycle`;
  return `${where}${behind}; ${problems}`;
}
