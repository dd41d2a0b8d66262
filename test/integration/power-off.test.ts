import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import type { RunRecord } from '../../src/history/record.js';
import { runAgent } from '../env/cli.js';
import { isRunning, waitForPostgres } from '../env/containers.js';
import {
  startPrivateBus,
  startStandIn,
  type PrivateBus,
  type StandInCall,
} from '../env/dbus-bed.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

import { gonzaloWayland, type SessionSpec } from '../env/logind-sessions.js';

describe('idle power-off after a scheduled run, through logind on a private bus', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let systemBus: PrivateBus;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    systemBus = await startPrivateBus(sandbox, 'system');
    await bed.writeConfig({
      schedule: { syncWindowSeconds: 0 },
      power: { users: ['gonzalo'], dbusTimeoutSeconds: 2 },
    });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  /** One scheduled (or other) run against a logind stand-in with these sessions and inhibitors. */
  async function runWith(
    scenario: { sessions?: SessionSpec[]; inhibitors?: unknown[][]; delaySeconds?: number },
    options: { trigger?: string; busAddress?: string } = {},
  ): Promise<{ record: RunRecord; calls: StandInCall[]; exitCode: number }> {
    const logind = await startStandIn(sandbox, 'logind', systemBus, scenario);
    try {
      const result = await runAgent(
        ['--config', bed.configFile, 'run', '--trigger', options.trigger ?? 'schedule', '--force'],
        {
          env: { DBUS_SYSTEM_BUS_ADDRESS: options.busAddress ?? systemBus.address },
        },
      );
      return {
        record: await bed.lastRun(),
        calls: await logind.calls(),
        exitCode: result.exitCode,
      };
    } finally {
      await logind.stop();
    }
  }

  const powerCalls = (calls: StandInCall[]): StandInCall[] =>
    calls.filter((call) =>
      ['PowerOff', 'PowerOffWithFlags', 'ScheduleShutdown'].includes(call.method),
    );

  test('nobody at the machine: scheduled shutdown in power.delaySeconds, through logind', async () => {
    const before = Date.now();
    const { record, calls, exitCode } = await runWith({ sessions: [] });
    assert.equal(exitCode, 0);
    assert.equal(record.outcome, 'success');
    assert.equal(record.power.decision, 'poweroff', record.power.reason);
    const [shutdown] = powerCalls(calls);
    assert.equal(shutdown?.method, 'ScheduleShutdown');
    assert.equal(shutdown?.args[0], 'poweroff');
    const at = Number(shutdown?.args[1]) / 1000;
    assert.ok(at >= before + 59_000 && at <= Date.now() + 61_000, 'in about 60 seconds');
    assert.equal(await isRunning(bed.server), true);
  });

  test('the listed user in a wayland session: stay on', async () => {
    const { record, calls } = await runWith({ sessions: [gonzaloWayland] });
    assert.equal(record.power.decision, 'stay-on');
    assert.match(record.power.reason, /gonzalo/);
    assert.deepEqual(powerCalls(calls), []);
  });

  test('the same user with the screen locked (online, not active): stay on', async () => {
    const { record, calls } = await runWith({
      sessions: [{ ...gonzaloWayland, state: 'online', active: false }],
    });
    assert.equal(record.power.decision, 'stay-on');
    assert.deepEqual(powerCalls(calls), []);
  });

  test('only a greeter session (the display manager): power off', async () => {
    const { record, calls } = await runWith({
      sessions: [
        {
          id: 'c1',
          uid: 120,
          user: 'gdm',
          seat: 'seat0',
          type: 'wayland',
          class: 'greeter',
          state: 'active',
        },
      ],
    });
    assert.equal(record.power.decision, 'poweroff', record.power.reason);
    assert.equal(powerCalls(calls).length, 1);
  });

  test('only an SSH session: power off', async () => {
    const { record, calls } = await runWith({
      sessions: [
        {
          id: '7',
          uid: 1000,
          user: 'gonzalo',
          seat: '',
          type: 'tty',
          class: 'user',
          state: 'active',
          remote: true,
        },
      ],
    });
    assert.equal(record.power.decision, 'poweroff', record.power.reason);
    assert.equal(powerCalls(calls).length, 1);
  });

  test('another user’s desktop when power.users names gonzalo: power off', async () => {
    const { record } = await runWith({ sessions: [{ ...gonzaloWayland, uid: 1001, user: 'ana' }] });
    assert.equal(record.power.decision, 'poweroff', record.power.reason);
  });

  test('another program holding a shutdown block inhibitor: stay on', async () => {
    const { record, calls } = await runWith({
      sessions: [],
      inhibitors: [['shutdown:sleep', 'Software Updates', 'Installing updates', 'block', 0, 4242]],
    });
    assert.equal(record.power.decision, 'stay-on');
    assert.match(record.power.reason, /Software Updates/);
    assert.deepEqual(powerCalls(calls), []);
  });

  test('no bus at all: stay on', async () => {
    const { record } = await runWith(
      { sessions: [] },
      { busAddress: `unix:path=${sandbox.path('no-such-bus.sock')}` },
    );
    assert.equal(record.outcome, 'success');
    assert.equal(record.power.decision, 'stay-on');
    assert.match(record.power.reason, /Could not ask logind/);
  });

  test('logind too slow to answer (every call has a timeout): stay on', async () => {
    const { record, calls } = await runWith({ sessions: [], delaySeconds: 4 });
    assert.equal(record.power.decision, 'stay-on');
    assert.match(record.power.reason, /no answer within 2000 ms/);
    assert.deepEqual(powerCalls(calls), []);
  });

  test('a plug-in run: a person is there, not applicable', async () => {
    const { record, calls } = await runWith({ sessions: [] }, { trigger: 'hotplug' });
    assert.equal(record.power.decision, 'not-applicable');
    assert.deepEqual(powerCalls(calls), []);
  });

  test('a failed run: stay on', async () => {
    await execa('docker', ['stop', bed.database]);
    try {
      const { record, calls } = await runWith({ sessions: [] });
      assert.equal(record.outcome, 'failed');
      assert.equal(record.power.decision, 'stay-on');
      assert.deepEqual(powerCalls(calls), []);
    } finally {
      await execa('docker', ['start', bed.database]);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  });

  test('with power.delaySeconds 0, PowerOff (not interactive) right away', async () => {
    await bed.writeConfig({
      schedule: { syncWindowSeconds: 0 },
      power: { users: ['gonzalo'], delaySeconds: 0, dbusTimeoutSeconds: 2 },
    });
    try {
      const { record, calls } = await runWith({ sessions: [] });
      assert.equal(
        record.power.decision,
        'poweroff',
        `${record.outcome}: ${record.message} / ${record.power.reason}`,
      );
      assert.deepEqual(
        powerCalls(calls).map((call) => [call.method, call.args]),
        [['PowerOff', [false]]],
      );
    } finally {
      await bed.writeConfig({
        schedule: { syncWindowSeconds: 0 },
        power: { users: ['gonzalo'], dbusTimeoutSeconds: 2 },
      });
    }
  });

  test('a sleep:shutdown inhibitor is held during the run and released after it', async () => {
    const { calls, record } = await runWith({ sessions: [gonzaloWayland] });
    const taken = calls.findIndex((call) => call.method === 'Inhibit');
    const released = calls.findIndex((call) => call.method === 'InhibitReleased');
    assert.ok(taken >= 0, 'an inhibitor was taken');
    assert.deepEqual(calls[taken]?.args, [
      'sleep:shutdown',
      'immich-backup-agent',
      'Backing up Immich to the USB drive',
      'block',
    ]);
    assert.ok(released > taken, 'and released');
    const decided = calls.findIndex((call) => call.method === 'ListSessions');
    assert.ok(released < decided || decided === -1, 'before the power decision');
    // It covered the whole time Immich was down: taken before the stop, released after the start.
    const at = (index: number): number => (calls[index]?.time ?? NaN) * 1000;
    assert.ok(record.server?.stoppedAt && record.server.startedAt, 'the server was stopped');
    assert.ok(at(taken) <= Date.parse(record.server.stoppedAt), 'taken before the server stopped');
    assert.ok(
      at(released) >= Date.parse(record.server.startedAt),
      'released after the server was back',
    );
  });

  test('a failed run releases its inhibitor too', async () => {
    await execa('docker', ['stop', bed.database]);
    try {
      const { record, calls } = await runWith({ sessions: [gonzaloWayland] });
      assert.equal(record.outcome, 'failed', record.message);
      const taken = calls.findIndex((call) => call.method === 'Inhibit');
      const released = calls.findIndex((call) => call.method === 'InhibitReleased');
      assert.ok(taken >= 0 && released > taken, 'taken and released');
    } finally {
      await execa('docker', ['start', bed.database]);
      await waitForPostgres(bed.database, 'postgres', 'immich');
    }
  });
});
