import type { BusClient } from './dbus.js';
import type { Inhibitor, LoginSession } from '../model/logind.js';

export type { Inhibitor, LoginSession } from '../model/logind.js';

const service = 'org.freedesktop.login1';
const managerPath = '/org/freedesktop/login1';
const manager = 'org.freedesktop.login1.Manager';

/** systemd-logind over D-Bus (org.freedesktop.login1.Manager), from the caller's side. */
export interface LogindAdapter {
  sessions(): Promise<LoginSession[]>;
  inhibitors(): Promise<Inhibitor[]>;
  /** Power off in `delaySeconds`, announced to logged-in terminals and cancellable; 0 = now. */
  powerOff(delaySeconds: number): Promise<void>;
}

export function createLogindAdapter(bus: BusClient): LogindAdapter {
  return {
    async sessions() {
      const [list] = (await bus.call(service, managerPath, manager, 'ListSessions')) as [
        [string, number, string, string, string][],
      ];
      const sessions: LoginSession[] = [];
      for (const [id, uid, user, seat, objectPath] of list ?? []) {
        const properties = await bus.getAll(service, objectPath, 'org.freedesktop.login1.Session');
        sessions.push({
          id,
          uid: Number(uid),
          user,
          seat,
          type: text(properties.Type, 'unspecified'),
          class: text(properties.Class, 'user'),
          state: text(properties.State, 'online'),
          remote: properties.Remote === true,
          active: properties.Active === true,
        });
      }
      return sessions;
    },

    async inhibitors() {
      const [list] = (await bus.call(service, managerPath, manager, 'ListInhibitors')) as [
        [string, string, string, string, number, number][],
      ];
      return (list ?? []).map(([what, who, why, mode, uid, pid]) => ({
        what,
        who,
        why,
        mode,
        uid: Number(uid),
        pid: Number(pid),
      }));
    },

    async powerOff(delaySeconds) {
      if (delaySeconds <= 0) {
        // interactive=false: never wait for a password prompt nobody will answer.
        await bus.call(service, managerPath, manager, 'PowerOff', 'b', [false]);
        return;
      }
      const atMicroseconds = BigInt(Date.now() + delaySeconds * 1000) * 1000n;
      await bus.call(service, managerPath, manager, 'ScheduleShutdown', 'st', [
        'poweroff',
        atMicroseconds,
      ]);
    },
  };
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
