import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Inhibitor, LoginSession } from '../../../src/adapters/logind.js';
import { desktopSessions } from '../../../src/adapters/desktop-notify.js';
import { decidePower, keepsMachineOn, type PowerInput } from '../../../src/policy/power.js';

const session = (overrides: Partial<LoginSession>): LoginSession => ({
  id: '2',
  uid: 1000,
  user: 'gonzalo',
  seat: 'seat0',
  type: 'wayland',
  class: 'user',
  state: 'active',
  remote: false,
  active: true,
  ...overrides,
});

const inhibitor = (overrides: Partial<Inhibitor>): Inhibitor => ({
  what: 'shutdown',
  who: 'Software Updates',
  why: 'Installing updates',
  mode: 'block',
  uid: 0,
  pid: 4242,
  ...overrides,
});

const base: PowerInput = {
  trigger: 'schedule',
  outcome: 'success',
  catchUp: false,
  idleShutdown: true,
  users: ['gonzalo'],
  sessions: [],
  inhibitors: [],
};

const cases: {
  name: string;
  input: Partial<PowerInput>;
  decision: 'poweroff' | 'stay-on' | 'not-applicable';
  reason?: RegExp;
}[] = [
  {
    name: 'nobody at the machine after a successful scheduled run: power off',
    input: {},
    decision: 'poweroff',
  },
  {
    name: 'a success with warnings counts as a success',
    input: { outcome: 'warning' },
    decision: 'poweroff',
  },
  {
    name: 'the listed user in wayland: stay on',
    input: { sessions: [session({})] },
    decision: 'stay-on',
    reason: /gonzalo/,
  },
  {
    name: 'the listed user in x11: stay on',
    input: { sessions: [session({ type: 'x11' })] },
    decision: 'stay-on',
  },
  {
    name: 'the listed user with a locked screen (online): stay on',
    input: { sessions: [session({ state: 'online', active: false })] },
    decision: 'stay-on',
  },
  {
    name: 'a session that is closing does not count',
    input: { sessions: [session({ state: 'closing' })] },
    decision: 'poweroff',
  },
  {
    name: 'only a greeter: power off',
    input: { sessions: [session({ class: 'greeter', user: 'gdm' })] },
    decision: 'poweroff',
  },
  {
    name: 'only a lock-screen session: power off',
    input: { sessions: [session({ class: 'lock-screen' })] },
    decision: 'poweroff',
  },
  {
    name: 'only an SSH session: power off',
    input: { sessions: [session({ type: 'tty', remote: true, seat: '' })] },
    decision: 'poweroff',
  },
  {
    name: 'a compositor started from a console (tty on a seat): stay on',
    input: { sessions: [session({ type: 'tty' })] },
    decision: 'stay-on',
  },
  {
    name: 'a seatless tty (a service login): power off',
    input: { sessions: [session({ type: 'tty', seat: '' })] },
    decision: 'poweroff',
  },
  {
    name: 'another user when power.users names gonzalo: power off',
    input: { sessions: [session({ user: 'ana' })] },
    decision: 'poweroff',
  },
  {
    name: 'another user when power.users is []: stay on',
    input: { users: [], sessions: [session({ user: 'ana' })] },
    decision: 'stay-on',
  },
  {
    name: 'a block inhibitor on shutdown: stay on',
    input: { inhibitors: [inhibitor({})] },
    decision: 'stay-on',
    reason: /Software Updates/,
  },
  {
    name: 'a delay inhibitor does not block',
    input: { inhibitors: [inhibitor({ mode: 'delay' })] },
    decision: 'poweroff',
  },
  {
    name: 'a sleep-only inhibitor does not block shutdown',
    input: { inhibitors: [inhibitor({ what: 'sleep' })] },
    decision: 'poweroff',
  },
  {
    name: 'the agent’s own inhibitor is not another program',
    input: { inhibitors: [inhibitor({ who: 'immich-backup-agent', what: 'sleep:shutdown' })] },
    decision: 'poweroff',
  },
  {
    name: 'logind could not be asked: stay on',
    input: { sessions: null, unsure: 'no bus' },
    decision: 'stay-on',
    reason: /no bus/,
  },
  {
    name: 'inhibitors could not be listed: stay on',
    input: { inhibitors: null },
    decision: 'stay-on',
  },
  { name: 'a failed run: stay on', input: { outcome: 'failed' }, decision: 'stay-on' },
  { name: 'an interrupted run: stay on', input: { outcome: 'interrupted' }, decision: 'stay-on' },
  { name: 'a skipped run: stay on', input: { outcome: 'skipped' }, decision: 'stay-on' },
  {
    name: 'idle shutdown switched off: stay on',
    input: { idleShutdown: false },
    decision: 'stay-on',
  },
  { name: 'a catch-up run after boot: stay on', input: { catchUp: true }, decision: 'stay-on' },
  {
    name: 'a plug-in run: not applicable',
    input: { trigger: 'hotplug' },
    decision: 'not-applicable',
  },
  {
    name: 'a manual run: not applicable',
    input: { trigger: 'manual' },
    decision: 'not-applicable',
  },
];

describe('may the machine be powered off after a run?', () => {
  for (const row of cases) {
    test(row.name, () => {
      const verdict = decidePower({ ...base, ...row.input });
      assert.equal(verdict.decision, row.decision, verdict.reason);
      assert.ok(verdict.reason.length > 10, 'every decision has a reason');
      if (row.reason) assert.match(verdict.reason, row.reason);
    });
  }
});

test('keepsMachineOn is false for every non-user class', () => {
  for (const sessionClass of ['greeter', 'lock-screen', 'background', 'manager']) {
    assert.equal(keepsMachineOn(session({ class: sessionClass }), []), false, sessionClass);
  }
});

describe('who is told (desktop notifications) matches who keeps the machine on', () => {
  test('graphical and seated tty sessions are told; remote, seatless and greeter ones are not', () => {
    const sessions = [
      session({ id: 'wayland' }),
      session({ id: 'sway-from-tty', type: 'tty' }),
      session({ id: 'ssh', type: 'tty', seat: '', remote: true }),
      session({ id: 'seatless-tty', type: 'tty', seat: '' }),
      session({ id: 'greeter', class: 'greeter', type: 'x11' }),
      session({ id: 'closing', state: 'closing' }),
    ];
    const told = desktopSessions(sessions).map((one) => one.id);
    assert.deepEqual(told, ['wayland', 'sway-from-tty']);
    for (const one of sessions)
      assert.equal(told.includes(one.id), keepsMachineOn(one, []), one.id);
  });
});
