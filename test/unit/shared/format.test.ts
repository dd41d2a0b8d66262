import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  formatBytes,
  formatCount,
  formatDuration,
  localDate,
  plural,
} from '../../../src/format.js';

describe('formatBytes writes sizes in decimal units', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [1, '1 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1500, '1.5 kB'],
    [99_949, '99.9 kB'],
    [100_000, '100 kB'],
    [123_456, '123 kB'],
    [1_000_000, '1.0 MB'],
    [3_200_000_000, '3.2 GB'],
    [261_000_000, '261 MB'],
    [1_500_000_000_000, '1.5 TB'],
    [2_000_000_000_000_000, '2.0 PB'],
    // Beyond the largest unit the number grows instead of the unit.
    [5_000_000_000_000_000_000, '5000 PB'],
  ];
  for (const [bytes, expected] of cases) {
    test(`${bytes} bytes read as ${expected}`, () => {
      assert.equal(formatBytes(bytes), expected);
    });
  }

  test('a size just under the next unit is written in that unit, not as 1000 of the smaller one', () => {
    assert.equal(formatBytes(999_999), '1.0 MB');
    assert.equal(formatBytes(999_950_000), '1.0 GB');
  });
});

describe('formatDuration writes durations as people read them', () => {
  const cases: [number, string][] = [
    [0, '0 ms'],
    [-5, '0 ms'],
    [12.4, '12 ms'],
    [999, '999 ms'],
    [1000, '1s'],
    [1499, '1s'],
    [1500, '2s'],
    [59_000, '59s'],
    [59_499, '59s'],
    [59_500, '1m00s'],
    [60_000, '1m00s'],
    [252_000, '4m12s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [3_725_000, '1h02m'],
    [26 * 3_600_000 + 5 * 60_000, '26h05m'],
  ];
  for (const [milliseconds, expected] of cases) {
    test(`${milliseconds} ms read as ${expected}`, () => {
      assert.equal(formatDuration(milliseconds), expected);
    });
  }
});

describe('formatCount and plural', () => {
  const counts: [number, string][] = [
    [0, '0'],
    [999, '999'],
    [1204, '1,204'],
    [12_345_678, '12,345,678'],
  ];
  for (const [value, expected] of counts) {
    test(`${value} is written ${expected}, with a comma between thousands`, () => {
      assert.equal(formatCount(value), expected);
    });
  }

  const plurals: { count: number; singular: string; pluralForm?: string; expected: string }[] = [
    { count: 1, singular: 'file', expected: '1 file' },
    { count: 0, singular: 'file', expected: '0 files' },
    { count: 2, singular: 'file', expected: '2 files' },
    { count: 1204, singular: 'file', expected: '1,204 files' },
    { count: 1, singular: 'entry', pluralForm: 'entries', expected: '1 entry' },
    { count: 3, singular: 'entry', pluralForm: 'entries', expected: '3 entries' },
  ];
  for (const { count, singular, pluralForm, expected } of plurals) {
    test(`${count} ${singular} reads as "${expected}"`, () => {
      assert.equal(plural(count, singular, pluralForm), expected);
    });
  }
});

describe('localDate gives the local calendar date', () => {
  // Dates built from local fields are the same calendar day in any time zone the tests run in.
  const cases: { fields: [number, number, number, number, number]; expected: string }[] = [
    { fields: [2025, 0, 5, 12, 0], expected: '2025-01-05' },
    { fields: [2025, 11, 31, 23, 59], expected: '2025-12-31' },
    { fields: [2026, 0, 1, 0, 0], expected: '2026-01-01' },
    { fields: [2024, 1, 29, 6, 30], expected: '2024-02-29' },
  ];
  for (const { fields, expected } of cases) {
    test(`${expected} local time reads as ${expected}, whatever the time of day`, () => {
      const [year, month, day, hours, minutes] = fields;
      const date = new Date(year, month, day, hours, minutes);
      assert.equal(localDate(date), expected);
    });
  }

  const instant = '2025-01-05T23:30:00Z';
  const zones: [string, string][] = [
    ['UTC', '2025-01-05'],
    ['Pacific/Kiritimati', '2025-01-06'],
    ['Pacific/Honolulu', '2025-01-05'],
    ['Asia/Kolkata', '2025-01-06'],
  ];
  for (const [zone, expected] of zones) {
    test(`${instant} is ${expected} on a clock set to ${zone}`, () => {
      // The zone is fixed per process, so each one gets its own.
      const moduleUrl = new URL('../../../src/format.js', import.meta.url).href;
      const output = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { localDate } from ${JSON.stringify(moduleUrl)};
           process.stdout.write(localDate(new Date(${JSON.stringify(instant)})));`,
        ],
        { env: { ...process.env, TZ: zone }, encoding: 'utf8' },
      );
      assert.equal(output, expected);
    });
  }
});
