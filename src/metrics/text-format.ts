/**
 * Prometheus' text exposition format (version 0.0.4), the one node_exporter's textfile collector
 * reads: per metric a `# HELP` and a `# TYPE` line, then its samples, `name{label="value"} number`.
 * Only gauges are written: every figure is a snapshot of the last run, not a running count.
 */

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  /** Unknown figures (a step that did not run, a record without the field) are left out. */
  value: number | null | undefined;
}

export interface MetricFamily {
  name: string;
  help: string;
  samples: readonly Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** In HELP text a backslash and a line break are escaped (a quote is not). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** In a label value a backslash, a double quote and a line break are escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A figure as the format writes it; null when it is not a finite number (unknown: left out). */
export function formatValue(value: number | null | undefined): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  // JavaScript prints 1e21 and 1.5e-7 as Go's ParseFloat reads them; -0 is written as 0.
  return Object.is(value, -0) ? '0' : String(value);
}

/**
 * The families as one text file. A family none of whose samples is known is left out entirely
 * (no HELP or TYPE without a sample: a reader would see a metric that is not there).
 */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const blocks: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!metricName.test(family.name)) throw new Error(`Invalid metric name: ${family.name}`);
    if (seen.has(family.name)) throw new Error(`Metric ${family.name} is given twice.`);
    seen.add(family.name);
    const lines = family.samples.flatMap((sample) => {
      const value = formatValue(sample.value);
      return value === null ? [] : [`${family.name}${renderLabels(sample.labels)} ${value}`];
    });
    if (lines.length === 0) continue;
    blocks.push(
      [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} gauge`, ...lines]
        .join('\n')
        .concat('\n'),
    );
  }
  return blocks.join('');
}

function renderLabels(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [name] of entries) {
    // `__` is reserved for Prometheus itself.
    if (!labelName.test(name) || name.startsWith('__'))
      throw new Error(`Invalid label name: ${name}`);
  }
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}
