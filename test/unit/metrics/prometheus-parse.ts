import assert from 'node:assert/strict';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

/**
 * A metrics file read by a real Prometheus text-format parser (parse-prometheus-text-format, a
 * port of the Prometheus Python client's parser), held to what Prometheus itself would accept.
 * That parser is lenient (a broken line becomes a strange metric, not an error), so the file is
 * also checked line by line against the format's grammar, and the parser's reading against it:
 * as many families as TYPE lines, as many samples as sample lines, each value a number.
 */
export function parseMetricsStrictly(text: string): Map<string, ParsedFamily> {
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends with a line break');
  const lines = text.split('\n').slice(0, -1);
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelValue = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const labels = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})(?:,[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})*\\}`;
  const grammar = [
    new RegExp(`^# HELP ${name} (?:[^\\\\\\n]|\\\\[\\\\n])+$`),
    new RegExp(`^# TYPE ${name} (?:gauge|counter|untyped|summary|histogram)$`),
    new RegExp(`^${name}(?:${labels})? -?[0-9.]+(?:e[+-]?[0-9]+)?$`),
  ];
  for (const line of lines)
    assert.ok(
      grammar.some((rule) => rule.test(line)),
      `a line of the text format: ${JSON.stringify(line)}`,
    );

  const families = parsePrometheusTextFormat(text);
  const types = lines.filter((line) => line.startsWith('# TYPE '));
  const samples = lines.filter((line) => !line.startsWith('#'));
  assert.equal(families.length, types.length, 'one family per TYPE line');
  assert.equal(
    families.reduce((sum, family) => sum + family.metrics.length, 0),
    samples.length,
    'one sample per sample line',
  );
  const byName = new Map<string, ParsedFamily>();
  for (const family of families) {
    assert.equal(byName.has(family.name), false, `${family.name} is given once`);
    assert.ok(family.help.length > 10, `${family.name} has a HELP line`);
    assert.equal(family.type, 'GAUGE', `${family.name} is a gauge`);
    for (const sample of family.metrics) {
      assert.ok(
        Number.isFinite(Number(sample.value)),
        `${family.name}: ${sample.value} is a number`,
      );
      assert.equal(
        sample.timestamp_ms,
        undefined,
        'no timestamps (the textfile collector refuses them)',
      );
    }
    byName.set(family.name, family);
  }
  return byName;
}

/** The one value of an unlabelled metric (undefined when the file does not have it). */
export function valueOf(families: Map<string, ParsedFamily>, name: string): number | undefined {
  const family = families.get(name);
  if (family === undefined) return undefined;
  assert.equal(family.metrics.length, 1, `${name} has one sample`);
  return Number(family.metrics[0]?.value);
}
