import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema.js';

const uuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';
const parse = (metrics: unknown) => configSchema.safeParse({ drive: { uuid }, metrics });

test('metrics.textfile is off unless given, and null turns it off', () => {
  assert.equal(configSchema.parse({ drive: { uuid } }).metrics.textfile, null);
  assert.equal(parse({ textfile: null }).data?.metrics.textfile, null);
});

test('metrics.textfile takes an absolute path to a .prom file, normalised', () => {
  assert.equal(
    parse({ textfile: '/var/lib/prometheus/node-exporter//immich_backup.prom' }).data?.metrics
      .textfile,
    '/var/lib/prometheus/node-exporter/immich_backup.prom',
  );
});

test('metrics.textfile refuses a relative path, a name node_exporter would not read, and unknown keys', () => {
  for (const [metrics, problem] of [
    [{ textfile: 'immich_backup.prom' }, /absolute path/],
    [{ textfile: '/var/lib/prometheus/node-exporter/immich_backup.txt' }, /ending in \.prom/],
    [{ textfile: '/var/lib/prometheus/node-exporter/' }, /ending in \.prom/],
    [{ textfile: '/var/lib/prometheus/node-exporter/.prom' }, /ending in \.prom/],
    [{ textfile: 42 }, /string/],
    [{ textFile: '/x/immich_backup.prom' }, /textFile/],
  ] as const) {
    const result = parse(metrics);
    assert.equal(result.success, false, JSON.stringify(metrics));
    assert.match(JSON.stringify(result.error?.issues), problem, JSON.stringify(metrics));
  }
});
