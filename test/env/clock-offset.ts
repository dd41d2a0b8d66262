/**
 * Loaded into an agent a test starts (`NODE_OPTIONS=--import=…/clock-offset.js`): the agent's
 * clock runs `IBA_TEST_CLOCK_OFFSET_MS` ahead (or behind, when negative), as after a clock that
 * jumped, while the machine's stays right. Only `Date` moves: timers and the monotonic clock do
 * not, as they do not when a wall clock is stepped. Test-only: the agent itself has no way to
 * be given another clock.
 */
const offsetMs = Number(process.env.IBA_TEST_CLOCK_OFFSET_MS ?? '0');

if (Number.isFinite(offsetMs) && offsetMs !== 0) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [number, number])); // whatever was given, passed on as it was
    }
    static override now(): number {
      return RealDate.now() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}

/** The environment that starts an agent with its clock that far off. */
export function clockOffsetEnv(offsetMs: number): Record<string, string> {
  const preload = new URL(import.meta.url).pathname;
  return { NODE_OPTIONS: `--import=${preload}`, IBA_TEST_CLOCK_OFFSET_MS: String(offsetMs) };
}
