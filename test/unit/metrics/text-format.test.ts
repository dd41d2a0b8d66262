import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderMetrics,
} from '../../../src/metrics/text-format.js';
import { parseMetricsStrictly } from './prometheus-parse.js';

describe('the Prometheus text format', () => {
  test('a label value escapes backslash, double quote and line break, and nothing else', () => {
    for (const [given, written] of [
      ['plain', 'plain'],
      ['C:\\DIR\\FILE', 'C:\\\\DIR\\\\FILE'],
      ['say "hi"', 'say \\"hi\\"'],
      ['two\nlines', 'two\\nlines'],
      ['\\n is not a line break', '\\\\n is not a line break'],
      ["it's $(x) {a=b} 📷 tab\there", "it's $(x) {a=b} 📷 tab\there"],
    ] as const)
      assert.equal(escapeLabelValue(given), written, given);
  });

  test('HELP text escapes backslash and line break but leaves quotes', () => {
    assert.equal(escapeHelp('a "b" \\ c\nd'), 'a "b" \\\\ c\\nd');
  });

  test('a label value with every awkward character is read back as it was by a real parser', () => {
    const awkward = 'Backup "1" \\ of\ngonzalo\'s $(rm -rf) 📷';
    const text = renderMetrics([
      {
        name: 'immich_backup_drive_free_bytes',
        help: 'Free space, "quoted" and \\ with\na line break.',
        samples: [{ labels: { uuid: 'ABCD-1234', label: awkward }, value: 42 }],
      },
    ]);
    const family = parseMetricsStrictly(text).get('immich_backup_drive_free_bytes');
    assert.deepEqual(family?.metrics, [
      { value: '42', labels: { uuid: 'ABCD-1234', label: awkward } },
    ]);
    assert.equal(family?.help, 'Free space, "quoted" and \\ with\na line break.');
  });

  test('unknown figures are left out; a family with none known has no HELP or TYPE either', () => {
    const text = renderMetrics([
      { name: 'known', help: 'A known figure here.', samples: [{ value: 0 }] },
      { name: 'unknown_null', help: 'Not known at all.', samples: [{ value: null }] },
      { name: 'unknown_undefined', help: 'Not known at all.', samples: [{ value: undefined }] },
      { name: 'not_a_number', help: 'Not known at all.', samples: [{ value: Number.NaN }] },
      {
        name: 'partly',
        help: 'One of two drives known.',
        samples: [
          { labels: { uuid: 'a' }, value: 7 },
          { labels: { uuid: 'b' }, value: null },
        ],
      },
    ]);
    assert.equal(
      text,
      [
        '# HELP known A known figure here.',
        '# TYPE known gauge',
        'known 0',
        '# HELP partly One of two drives known.',
        '# TYPE partly gauge',
        'partly{uuid="a"} 7',
        '',
      ].join('\n'),
    );
    assert.equal(renderMetrics([{ name: 'none', help: 'Nothing.', samples: [] }]), '');
  });

  test('numbers are written as the format reads them: integers plain, large and small with an exponent', () => {
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(-0), '0');
    assert.equal(formatValue(1733625600.123), '1733625600.123');
    assert.equal(formatValue(3_435_973_837), '3435973837');
    assert.equal(formatValue(1.5e21), '1.5e+21');
    assert.equal(formatValue(1.5e-7), '1.5e-7');
    for (const unknown of [Infinity, -Infinity, Number.NaN, null, undefined])
      assert.equal(formatValue(unknown), null, String(unknown));
  });

  test('an invalid metric or label name, or a metric given twice, is a programming error', () => {
    const sample = [{ value: 1 }];
    assert.throws(() => renderMetrics([{ name: 'bad-name', help: 'x', samples: sample }]));
    assert.throws(() => renderMetrics([{ name: '1bad', help: 'x', samples: sample }]));
    assert.throws(() =>
      renderMetrics([
        { name: 'ok', help: 'x', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] },
      ]),
    );
    assert.throws(() =>
      renderMetrics([
        { name: 'ok', help: 'x', samples: [{ labels: { __name__: 'v' }, value: 1 }] },
      ]),
    );
    assert.throws(() =>
      renderMetrics([
        { name: 'twice', help: 'x', samples: sample },
        { name: 'twice', help: 'x', samples: sample },
      ]),
    );
  });
});
