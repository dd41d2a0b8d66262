import { execa } from 'execa';

/** A logind session as the stand-in serves it (see test/env/standins). */
export interface SessionSpec {
  id: string;
  uid: number;
  user: string;
  seat?: string;
  type: string;
  class: string;
  state: string;
  remote?: boolean;
  active?: boolean;
}

/** Gonzalo at his desktop: a local, active Wayland session on seat0. */
export const gonzaloWayland: SessionSpec = {
  id: '2',
  uid: 1000,
  user: 'gonzalo',
  seat: 'seat0',
  type: 'wayland',
  class: 'user',
  state: 'active',
  active: true,
};
/** The unprivileged user the tests act as (a desktop user's uid for notifications). */
export const nobody = Number((await execa('id', ['-u', 'nobody'])).stdout.trim());
