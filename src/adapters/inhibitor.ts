import type { Logger } from '../log/logger.js';
import type { HeldProcess, ProcessGateway } from './process.js';

/**
 * Holds a logind `sleep:shutdown` block inhibitor while a backup runs, so a desktop does not
 * suspend (or a user's shutdown go through unwarned) in the middle of a copy. logind's Inhibit
 * hands back a file descriptor, which dbus-next cannot receive without a native add-on; the
 * `systemd-inhibit` program holds it for us instead, around `cat` reading a pipe the agent keeps
 * open. Releasing closes the pipe; so does the agent's death. Not being able to inhibit is a
 * warning, never a reason to skip a backup.
 */
export async function holdInhibitor(
  gateway: ProcessGateway,
  options: { busAddress: string; why: string; logger: Logger },
): Promise<HeldProcess | null> {
  const held = gateway.hold({
    tool: 'systemd-inhibit',
    file: 'systemd-inhibit',
    args: [
      '--what=sleep:shutdown',
      '--who=immich-backup-agent',
      `--why=${options.why}`,
      '--mode=block',
      'cat',
    ],
    env: { DBUS_SYSTEM_BUS_ADDRESS: options.busAddress },
    step: 'inhibit',
  });
  // systemd-inhibit ends at once when it cannot take the lock (no logind, no bus).
  const early = await Promise.race([
    held.exited,
    new Promise<'holding'>((resolve) => setTimeout(() => resolve('holding'), 750)),
  ]);
  if (early !== 'holding') {
    options.logger.warn(
      { step: 'inhibit', exitCode: early ?? null },
      'Could not ask logind to hold off sleep and shutdown during the backup (systemd-inhibit ended at once); going on without.',
    );
    return null;
  }
  options.logger.info(
    { step: 'inhibit' },
    'Holding off sleep and shutdown until the backup is done.',
  );
  return held;
}
