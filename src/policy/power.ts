import type { Inhibitor, LoginSession } from '../model/logind.js';
import type { Outcome, RunRecord, Trigger } from '../history/record.js';

export type PowerDecision = RunRecord['power'];

export interface PowerInput {
  trigger: Trigger;
  outcome: Outcome;
  /** A run the daemon started at boot for a window missed while the machine was off. */
  catchUp: boolean;
  idleShutdown: boolean;
  /** Whose session keeps the machine on; [] = anyone's. */
  users: readonly string[];
  /** null: logind could not be asked (no bus, an error, a timeout). */
  sessions: readonly LoginSession[] | null;
  inhibitors: readonly Inhibitor[] | null;
  /** What went wrong asking logind, for the reason. */
  unsure?: string;
}

const graphicalTypes = new Set(['x11', 'wayland', 'mir']);

/**
 * Does this session mean a person is at the machine? A local, graphical, user session that is
 * active or online (a locked screen is still somebody's desktop). Greeter and lock-screen
 * sessions do not count: a display manager always has one. SSH sessions are remote. A local
 * `tty` session on a seat also counts: a compositor started from a console (sway, startx) reports
 * `tty`, and it cannot be told from a person at the console, who should not lose the machine
 * either. When unsure, the machine stays on.
 */
export function keepsMachineOn(session: LoginSession, users: readonly string[]): boolean {
  if (session.class !== 'user' || session.remote) return false;
  if (session.state !== 'active' && session.state !== 'online') return false;
  const atTheMachine =
    graphicalTypes.has(session.type) || (session.type === 'tty' && session.seat !== '');
  if (!atTheMachine) return false;
  return users.length === 0 || users.includes(session.user);
}

/** A `block` inhibitor on shutdown held by another program keeps the machine on. */
export function blocksShutdown(inhibitor: Inhibitor): boolean {
  // The agent's own inhibitor (released a moment ago, maybe not yet gone from the list) is not
  // "another program"; only one agent runs at a time (the run lock).
  return (
    inhibitor.mode === 'block' &&
    inhibitor.what.split(':').includes('shutdown') &&
    inhibitor.who !== 'immich-backup-agent'
  );
}

/**
 * May the machine be powered off after this run? Only after a scheduled run (a manual or plug-in
 * run means a person is there), that succeeded, with idleShutdown on, nobody at the machine and
 * no other program blocking shutdown. Anything unknown means stay on.
 */
export function decidePower(input: PowerInput): PowerDecision {
  if (input.trigger !== 'schedule') {
    return {
      decision: 'not-applicable',
      reason: `A ${input.trigger} run means somebody is there; only a scheduled run may power the machine off.`,
    };
  }
  if (!input.idleShutdown) return { decision: 'stay-on', reason: 'power.idleShutdown is off.' };
  if (input.catchUp) {
    return {
      decision: 'stay-on',
      reason:
        'This run caught up a window missed while the machine was off; whoever started it may still need it.',
    };
  }
  if (input.outcome !== 'success' && input.outcome !== 'warning') {
    return {
      decision: 'stay-on',
      reason: `The backup did not succeed (${input.outcome}); the machine stays on so someone can look.`,
    };
  }
  if (input.sessions === null || input.inhibitors === null) {
    return {
      decision: 'stay-on',
      reason: `Could not ask logind who is at the machine (${input.unsure ?? 'unknown error'}); staying on to be safe.`,
    };
  }
  const present = input.sessions.filter((session) => keepsMachineOn(session, input.users));
  if (present.length > 0) {
    const who = present
      .map((session) => `${session.user} (${session.type} session ${session.id}, ${session.state})`)
      .join(', ');
    return { decision: 'stay-on', reason: `Somebody is at the machine: ${who}.` };
  }
  const blocking = input.inhibitors.filter(blocksShutdown);
  if (blocking.length > 0) {
    const who = blocking
      .map((inhibitor) => `${inhibitor.who} (“${inhibitor.why}”, pid ${inhibitor.pid})`)
      .join(', ');
    return { decision: 'stay-on', reason: `Another program blocks shutdown: ${who}.` };
  }
  const scope = input.users.length > 0 ? `none of ${input.users.join(', ')} has` : 'nobody has';
  return {
    decision: 'poweroff',
    reason: `The scheduled backup succeeded and ${scope} a session at the machine.`,
  };
}
