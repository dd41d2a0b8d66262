/**
 * The order of the dumps on a drive: the sequence their sidecars carry, never the date in their
 * names. That date is the local date of the run, a clock: a dump made while the clock was a year
 * ahead would otherwise be "the newest" for a year (verify and restore would pick it, retention
 * would delete every fresh dump after it), and one made while it was set back "the oldest".
 */
interface Ordered {
  name: string;
  sidecar: { sequence?: number } | null;
}

/** Oldest first: dumps without a sequence (the old scripts', earlier versions') by name, then by sequence. */
export function compareDumps(a: Ordered, b: Ordered): number {
  const first = a.sidecar?.sequence;
  const second = b.sidecar?.sequence;
  if (first !== undefined && second !== undefined && first !== second) return first - second;
  if (first !== undefined && second === undefined) return 1;
  if (first === undefined && second !== undefined) return -1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The sequence of a dump written now: one above every dump on the drive. */
export function nextDumpSequence(dumps: readonly Ordered[]): number {
  return Math.max(0, ...dumps.map((dump) => dump.sidecar?.sequence ?? 0)) + 1;
}
