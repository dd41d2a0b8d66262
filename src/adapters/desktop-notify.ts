import type { LoginSession } from './logind.js';
import type { ProcessGateway } from './process.js';

export interface DesktopMessage {
  summary: string;
  body: string;
  urgency: 'low' | 'normal' | 'critical';
}

/**
 * Local sessions whose desktop can show a notification (any user: everyone there should know):
 * graphical ones, and `tty` sessions on a seat, which is what a compositor started from a
 * console reports (the same people the power-off policy counts as at the machine). A console
 * without a notification daemon just fails the call, which is logged.
 */
export function desktopSessions(sessions: readonly LoginSession[]): LoginSession[] {
  return sessions.filter(
    (session) =>
      session.class === 'user' &&
      !session.remote &&
      (session.state === 'active' || session.state === 'online') &&
      (['x11', 'wayland', 'mir'].includes(session.type) ||
        (session.type === 'tty' && session.seat !== '')),
  );
}

/** GVariant text for a string: JSON's escapes are valid there too. */
function gvariantString(text: string): string {
  return JSON.stringify(text);
}

/**
 * Shows a notification on a user's desktop. Root cannot talk to a user's session bus (it only
 * accepts its owner), so `gdbus` runs as that user, with their session bus address, and calls
 * org.freedesktop.Notifications.Notify. gdbus rather than the agent itself: it is on every
 * desktop and needs nothing of the agent's to be readable by the user.
 */
export async function notifyUser(
  gateway: ProcessGateway,
  options: {
    uid: number;
    busAddressTemplate: string;
    message: DesktopMessage;
    timeoutSeconds: number;
  },
): Promise<void> {
  const passwd = await gateway.run({
    tool: 'getent',
    file: 'getent',
    args: ['passwd', String(options.uid)],
    timeoutMs: 5000,
    step: 'notify',
  });
  const [name, , , gid, , home] = passwd.stdout.trim().split(':');
  if (passwd.exitCode !== 0 || gid === undefined)
    throw new Error(`no user with uid ${options.uid}`);
  const urgency = { low: 0, normal: 1, critical: 2 }[options.message.urgency];
  const result = await gateway.run({
    tool: 'gdbus',
    file: 'gdbus',
    args: [
      'call',
      '--session',
      '--timeout',
      String(options.timeoutSeconds),
      '--dest',
      'org.freedesktop.Notifications',
      '--object-path',
      '/org/freedesktop/Notifications',
      '--method',
      'org.freedesktop.Notifications.Notify',
      // "--": the expire timeout -1 must not be read as an option.
      '--',
      gvariantString('Immich backup'),
      '0',
      gvariantString('drive-harddisk'),
      gvariantString(options.message.summary),
      gvariantString(options.message.body),
      '@as []',
      `{'urgency': <byte ${urgency}>, 'desktop-entry': <'immich-backup-agent'>}`,
      options.message.urgency === 'critical' ? '0' : '-1',
    ],
    // Only what gdbus needs to reach the user's session bus, as that user: none of root's
    // environment (DOCKER_HOST, a config path, whatever the unit or sudo passed) reaches a
    // program the user can inspect (/proc/PID/environ is the user's to read).
    env: {
      DBUS_SESSION_BUS_ADDRESS: options.busAddressTemplate.replaceAll('{uid}', String(options.uid)),
      HOME: home || '/',
      USER: name ?? '',
      LOGNAME: name ?? '',
      XDG_RUNTIME_DIR: `/run/user/${options.uid}`,
      PATH: '/usr/local/bin:/usr/bin:/bin',
    },
    onlyEnv: true,
    uid: options.uid,
    gid: Number(gid),
    timeoutMs: (options.timeoutSeconds + 5) * 1000,
    step: 'notify',
  });
  if (result.exitCode !== 0)
    throw new Error(`gdbus exited with ${result.exitCode}: ${result.stderr.trim()}`);
}
