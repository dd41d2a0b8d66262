import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { AgentConfig } from '../../../src/config/load.js';
import type { RunRecord } from '../../../src/history/record.js';
import { alarmOf, createNotifier } from '../../../src/notify/notifier.js';

const warning = {
  id: 'r1',
  trigger: 'schedule',
  outcome: 'warning',
  reason: 'ORIGINALS_DAMAGED',
  dryRun: false,
  message: 'Backup finished with warnings.',
  hint: null,
  files: null,
  database: null,
  originals: { checked: 3, damaged: ['library/a.jpg'], damagedCount: 1, unknown: 0 },
  readBack: null,
  warnings: ['1 original in the library no longer matches Immich’s own checksum: library/a.jpg.'],
  unplug: null,
} as unknown as RunRecord;

describe('damaged originals reach webhooks as a failure, not a success', () => {
  let server: Server;
  let base = '';
  const requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({ url: request.url ?? '', headers: request.headers, body });
        response.end('OK');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const notifierFor = (webhooks: unknown[]) =>
    createNotifier({
      config: {
        notify: { desktop: false, userBusAddress: '', webhooks },
        power: { dbusTimeoutSeconds: 2, users: [] },
      } as unknown as AgentConfig,
      logger: pino({ level: 'silent' }),
      gateway: {} as never,
      openSystemBus: () => {
        throw new Error('no bus here');
      },
    });

  test('a hook that hears only failures hears of ORIGINALS_DAMAGED; ntfy sends it high, tagged warning', async () => {
    requests.length = 0;
    await notifierFor([
      { url: `${base}/failures-only`, kind: 'json', events: ['failure'] },
      { url: `${base}/ntfy`, kind: 'ntfy', events: ['start', 'success', 'failure'] },
      { url: `${base}/hc`, kind: 'healthchecks', events: ['start', 'success', 'failure'] },
    ]).finished(warning);
    const hook = requests.find((request) => request.url === '/failures-only');
    assert.ok(hook, requests.map((request) => request.url).join(', '));
    const body = JSON.parse(hook.body) as { event: string; summary: string };
    assert.equal(body.event, 'failure');
    assert.match(body.summary, /library\/a\.jpg/);
    const ntfy = requests.find((request) => request.url === '/ntfy');
    assert.equal(ntfy?.headers.priority, 'high');
    assert.equal(ntfy?.headers.tags, 'warning');
    assert.ok(requests.some((request) => request.url === '/hc/fail'));
  });

  test('a plain warning (a slow USB link) is still a success', async () => {
    requests.length = 0;
    await notifierFor([
      { url: `${base}/all`, kind: 'json', events: ['success', 'failure'] },
    ]).finished({ ...warning, reason: null, originals: null });
    assert.equal((JSON.parse(requests[0]?.body ?? '{}') as { event?: string }).event, 'success');
  });

  test('the alarm is found even when another warning took the reason', () => {
    assert.equal(alarmOf(warning), 'ORIGINALS_DAMAGED');
    assert.equal(alarmOf({ ...warning, reason: 'UNMOUNT_FAILED' }), 'ORIGINALS_DAMAGED');
    assert.equal(
      alarmOf({
        ...warning,
        reason: null,
        originals: null,
        readBack: {
          mismatches: ['library/b.jpg'],
          missing: [],
        } as unknown as RunRecord['readBack'],
      }),
      'BACKUP_DAMAGED',
    );
    assert.equal(alarmOf({ ...warning, reason: null, originals: null }), null);
  });
});
