import { Cron } from 'croner';

export interface DueInput {
  now: Date;
  /** When the last successful backup finished, or null if there never was one. */
  lastSuccessAt: Date | null;
  cron: string;
  maxAgeDays: number;
  /** IANA zone; default the process's local zone. */
  timezone?: string;
}

export type DueReason =
  'NEVER_BACKED_UP' | 'WINDOW_DUE' | 'STALE' | 'SUCCESS_IN_FUTURE' | 'NOT_DUE';

const dayMs = 24 * 60 * 60 * 1000;

/**
 * How far in the future a recorded time may lie before the clock is taken to be wrong: 10
 * minutes. Every record is written by this machine's clock, so a finish time after `now` can only
 * come from a clock that was stepped: NTP's corrections at boot are seconds to a few minutes (a
 * drifting RTC of a machine that was off for months), and those must not raise an alarm, while a
 * clock that jumped (an RTC kept in local time, a wrong manual date, a dead CMOS battery) is off
 * by an hour or more. Erring this way costs one extra backup; the other way costs months of none.
 */
export const clockSkewMs = 10 * 60 * 1000;

/** Is this recorded time later than `now` by more than the skew (the clock was or is wrong)? */
export function isInFuture(recordedAt: Date, now: Date): boolean {
  return recordedAt.getTime() - now.getTime() > clockSkewMs;
}

/** The zone the machine runs in (TZ, else /etc/localtime), by name, so DST is the zone's own. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function cronFor(input: Pick<DueInput, 'cron' | 'timezone'>): Cron {
  return new Cron(input.cron, { paused: true, timezone: input.timezone ?? localTimeZone() });
}

/** The latest occurrence of the weekly window at or before `now`. */
export function latestWindow(input: Pick<DueInput, 'cron' | 'timezone' | 'now'>): Date | null {
  const cron = cronFor(input);
  // previousRuns() leaves out an occurrence at exactly `now`; the window has begun then.
  const atNow = cron.nextRun(new Date(input.now.getTime() - 1));
  if (atNow !== null && atNow.getTime() <= input.now.getTime()) return atNow;
  return cron.previousRuns(1, input.now)[0] ?? null;
}

/**
 * Is a backup due? Yes when there never was a successful one, when none finished since the
 * latest past window, or when the last one is older than maxAgeDays. A last success recorded in
 * the future proves nothing about when the last backup really was: due, so that a clock that
 * jumped ahead once cannot hold every plug-in and scheduled run off until it is caught up with.
 */
export function isDue(input: DueInput): { due: boolean; reason: DueReason } {
  if (input.lastSuccessAt === null) return { due: true, reason: 'NEVER_BACKED_UP' };
  if (isInFuture(input.lastSuccessAt, input.now)) return { due: true, reason: 'SUCCESS_IN_FUTURE' };
  const window = latestWindow(input);
  if (window !== null && input.lastSuccessAt.getTime() < window.getTime())
    return { due: true, reason: 'WINDOW_DUE' };
  if (input.now.getTime() - input.lastSuccessAt.getTime() > input.maxAgeDays * dayMs) {
    return { due: true, reason: 'STALE' };
  }
  return { due: false, reason: 'NOT_DUE' };
}

/**
 * Is the backup stale: never made, the last success older than maxAgeDays, or recorded in the
 * future (its age is unknown)? This is the health question (`status` exit 4), apart from whether
 * a window has come round since.
 */
export function isStale(input: Pick<DueInput, 'now' | 'lastSuccessAt' | 'maxAgeDays'>): boolean {
  return (
    input.lastSuccessAt === null ||
    isInFuture(input.lastSuccessAt, input.now) ||
    input.now.getTime() - input.lastSuccessAt.getTime() > input.maxAgeDays * dayMs
  );
}

/**
 * When the next backup becomes due: the first window after the last success, or when the last
 * success turns stale, whichever comes first; `now` when one is due already.
 */
export function nextDueAt(input: DueInput): Date {
  if (isDue(input).due || input.lastSuccessAt === null) return input.now;
  const nextWindow = cronFor(input).nextRun(input.lastSuccessAt);
  const stale = new Date(input.lastSuccessAt.getTime() + input.maxAgeDays * dayMs);
  return nextWindow !== null && nextWindow.getTime() < stale.getTime() ? nextWindow : stale;
}
