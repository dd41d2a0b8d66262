import type { AgentError } from '../errors.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Outcome } from '../history/record.js';

/** Codes that end a run before anything was attempted: recorded as `skipped`. */
const skipCodes = new Set(['NOT_DUE', 'DRIVE_ABSENT', 'ALREADY_RUNNING']);

/** Codes worth retrying later without anyone doing anything (exit 75, EX_TEMPFAIL). */
const retryLaterCodes = new Set(['DRIVE_ABSENT', 'ALREADY_RUNNING']);

export interface Verdict {
  outcome: Outcome;
  /** The code that decided it, null for a clean success. */
  reason: string | null;
  /** The error that decided it, if any. */
  error: AgentError | null;
}

/**
 * Decides the outcome from the first error of the run, the errors of its undos and its
 * warnings. A server that could not be started again outweighs everything: Immich being down
 * is the worst thing this agent can cause.
 */
export function decideOutcome(
  primary: AgentError | null,
  cleanupErrors: readonly AgentError[],
  warnings: readonly string[],
  /** The code of a warning that has one (ORIGINALS_DAMAGED): the reason when no undo failed. */
  warningCode: string | null = null,
): Verdict {
  const serverDown = cleanupErrors.find((error) => error.code === 'SERVER_START_FAILED');
  if (serverDown) return { outcome: 'failed', reason: serverDown.code, error: serverDown };
  if (primary) {
    if (skipCodes.has(primary.code))
      return { outcome: 'skipped', reason: primary.code, error: primary };
    if (primary.code === 'INTERRUPTED')
      return { outcome: 'interrupted', reason: primary.code, error: primary };
    return { outcome: 'failed', reason: primary.code, error: primary };
  }
  if (cleanupErrors.length > 0 || warnings.length > 0) {
    return {
      outcome: 'warning',
      reason: cleanupErrors[0]?.code ?? warningCode,
      error: cleanupErrors[0] ?? null,
    };
  }
  return { outcome: 'success', reason: null, error: null };
}

/** Exit codes of `run` (CONTRACT.md): 0 done or not due, 1 failed, 75 retry later. */
export function exitCodeFor(outcome: Outcome, reason: string | null): ExitCode {
  switch (outcome) {
    case 'success':
    case 'warning':
      return exitCodes.ok;
    case 'skipped':
      return reason !== null && retryLaterCodes.has(reason) ? exitCodes.retryLater : exitCodes.ok;
    case 'failed':
      // A configuration problem found only during the run (a mount point through a symlink, an
      // .env made insecure meanwhile) is still one: exit 2, as when found at start.
      return reason !== null && configurationCodes.has(reason) ? exitCodes.usage : exitCodes.failed;
    case 'interrupted':
      return exitCodes.failed;
  }
}

const configurationCodes = new Set(['CONFIG_INVALID', 'CONFIG_INSECURE']);
