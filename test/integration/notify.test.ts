import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { runAgent } from '../env/cli.js';
import { startPrivateBus, startStandIn, type PrivateBus } from '../env/dbus-bed.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

import { nobody } from '../env/logind-sessions.js';

describe('telling people: desktop notifications, HTTP pings, safe unplug', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let systemBus: PrivateBus;
  let server: Server;
  const requests: {
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    body: string;
  }[] = [];
  let base = '';

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    systemBus = await startPrivateBus(sandbox, 'system');
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body,
        });
        response.statusCode = request.url?.startsWith('/broken') ? 500 : 200;
        response.end('OK');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await sandbox?.dispose();
  });

  test('a plug-in run notifies the user’s desktop at start and end, from a process running as that user', async () => {
    const userBus = await startPrivateBus(sandbox, `session-${nobody}`, { user: 'nobody' });
    const notifications = await startStandIn(sandbox, 'notifications', userBus, {});
    const logind = await startStandIn(sandbox, 'logind', systemBus, {
      sessions: [
        {
          id: '4',
          uid: nobody,
          user: 'nobody',
          seat: 'seat0',
          type: 'x11',
          class: 'user',
          state: 'active',
          active: true,
        },
      ],
    });
    await bed.writeConfig({
      notify: { userBusAddress: `unix:path=${sandbox.path('session-{uid}.sock')}` },
    });
    try {
      const result = await runAgent(
        ['--config', bed.configFile, 'run', '--trigger', 'hotplug', '--force'],
        { env: { DBUS_SYSTEM_BUS_ADDRESS: systemBus.address } },
      );
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const shown = (await notifications.calls()).filter((call) => call.method === 'Notify');
      assert.equal(shown.length, 2, JSON.stringify(shown));
      assert.deepEqual(
        shown.map((call) => call.senderUid),
        [nobody, nobody],
        'sent from a process running as the user',
      );
      assert.equal(shown[0]?.args[3], 'Backing up Immich to the USB drive');
      assert.equal(shown[1]?.args[3], 'Immich backup finished');
      assert.match(String(shown[1]?.args[4]), /you can unplug it/);
      const record = await bed.lastRun();
      assert.deepEqual(record.unplug, {
        safe: true,
        poweredOff: false,
        message: 'The drive is unmounted: you can unplug it.',
      });
    } finally {
      await logind.stop();
      await notifications.stop();
      await bed.writeConfig();
    }
  });

  test('with drive.powerOffAfter the drive is powered down through UDisks2 after a plug-in run', async () => {
    const drivePath = '/org/freedesktop/UDisks2/drives/Test_USB_Drive_0001';
    const udisks = await startStandIn(sandbox, 'udisks', systemBus, {
      blocks: [
        {
          path: '/org/freedesktop/UDisks2/block_devices/loop_test',
          uuid: bed.drive.uuid,
          device: bed.drive.device,
          drive: drivePath,
        },
      ],
      drives: [{ path: drivePath, canPowerOff: true }],
    });
    await bed.writeConfig({ drive: { powerOffAfter: true } });
    try {
      const result = await runAgent(
        ['--config', bed.configFile, 'run', '--trigger', 'hotplug', '--force'],
        { env: { DBUS_SYSTEM_BUS_ADDRESS: systemBus.address } },
      );
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      const calls = await udisks.calls();
      assert.deepEqual(
        calls.filter((call) => call.method === 'Drive.PowerOff').map((call) => call.args[0]),
        [drivePath],
      );
      const record = await bed.lastRun();
      assert.equal(record.unplug?.poweredOff, true);
      assert.match(record.unplug?.message ?? '', /powered down: you can unplug it/);
    } finally {
      await udisks.stop();
      await bed.writeConfig();
    }
  });

  test('a scheduled run that finds no drive asks the user to plug it in', async () => {
    const userBus = await startPrivateBus(sandbox, `session2-${nobody}`, { user: 'nobody' });
    const notifications = await startStandIn(sandbox, 'notifications', userBus, {});
    const logind = await startStandIn(sandbox, 'logind', systemBus, {
      sessions: [
        {
          id: '5',
          uid: nobody,
          user: 'nobody',
          seat: 'seat0',
          type: 'wayland',
          class: 'user',
          state: 'active',
          active: true,
        },
      ],
    });
    await bed.writeConfig({
      drive: { uuid: '0b5e55ed-0000-4000-8000-000000000000' },
      notify: { userBusAddress: `unix:path=${sandbox.path('session2-{uid}.sock')}` },
    });
    try {
      const result = await runAgent(
        ['--config', bed.configFile, 'run', '--trigger', 'schedule', '--force'],
        { env: { DBUS_SYSTEM_BUS_ADDRESS: systemBus.address } },
      );
      assert.equal(result.exitCode, 75);
      const shown = (await notifications.calls()).filter((call) => call.method === 'Notify');
      assert.deepEqual(
        shown.map((call) => call.args[3]),
        ['Plug in the backup drive'],
      );
      assert.match(String(shown[0]?.args[4]), /will start by itself/);
    } finally {
      await logind.stop();
      await notifications.stop();
      await bed.writeConfig();
    }
  });

  test('HTTP pings follow Healthchecks, ntfy and webhook conventions, and a failing one never fails the backup', async () => {
    requests.length = 0;
    await bed.writeConfig({
      notify: {
        desktop: false,
        webhooks: [
          { url: `${base}/hc/5d3a1c4e`, kind: 'healthchecks' },
          { url: `${base}/ntfy/immich-backups`, kind: 'ntfy', events: ['failure', 'success'] },
          { url: `${base}/hook`, kind: 'json' },
          { url: `${base}/broken`, kind: 'json' },
          { url: 'http://127.0.0.1:9/closed-port', kind: 'json' },
        ],
      },
    });
    try {
      const ok = await runAgent(['--config', bed.configFile, 'run']);
      assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
      const urls = requests.map((request) => `${request.method} ${request.url}`);
      assert.ok(urls.includes('POST /hc/5d3a1c4e/start'), urls.join(', '));
      assert.ok(urls.includes('POST /hc/5d3a1c4e'));
      assert.ok(!urls.includes('POST /hc/5d3a1c4e/fail'));
      const ntfy = requests.filter((request) => request.url === '/ntfy/immich-backups');
      assert.equal(ntfy.length, 1, 'ntfy only for the events asked for');
      assert.match(ntfy[0]?.body ?? '', /Backup finished/);
      assert.equal(ntfy[0]?.headers.tags, 'white_check_mark');
      const hooks = requests
        .filter((request) => request.url === '/hook')
        .map(
          (request) => JSON.parse(request.body) as { event: string; record: { outcome?: string } },
        );
      assert.deepEqual(
        hooks.map((hook) => hook.event),
        ['start', 'success'],
      );
      assert.equal(hooks[1]?.record.outcome, 'success');

      requests.length = 0;
      await execa('docker', ['stop', bed.database]);
      try {
        const failed = await runAgent(['--config', bed.configFile, 'run']);
        assert.equal(failed.exitCode, 1);
      } finally {
        await execa('docker', ['start', bed.database]);
      }
      const failUrls = requests.map((request) => request.url);
      assert.ok(failUrls.includes('/hc/5d3a1c4e/fail'), failUrls.join(', '));
      const ntfyFailure = requests.find((request) => request.url === '/ntfy/immich-backups');
      assert.equal(ntfyFailure?.headers.priority, 'high');
    } finally {
      await bed.writeConfig();
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  });
});
