/** What logind (org.freedesktop.login1) says of sessions and inhibitors, as data. */
/** A login session as logind describes it (ListSessions plus the session's properties). */
export interface LoginSession {
  id: string;
  uid: number;
  user: string;
  seat: string;
  /** tty, x11, wayland, mir, unspecified. */
  type: string;
  /** user, greeter, lock-screen (and newer ones such as user-early, manager). */
  class: string;
  /** online, active, closing. */
  state: string;
  remote: boolean;
  active: boolean;
}

/** One entry of ListInhibitors. */
export interface Inhibitor {
  what: string;
  who: string;
  why: string;
  mode: string;
  uid: number;
  pid: number;
}
