import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DockerAdapter } from '../adapters/docker.js';
import type { Logger } from '../log/logger.js';

/** The label on every restore drill's container, so one a killed run left behind can be found. */
export const drillLabel = 'immich-backup-agent.drill';

/**
 * The label's value: which installation made the drill (its state folder, hashed). The run lock
 * is per state folder, so only this installation's drills are known not to be live.
 */
export function drillOwner(stateDir: string): string {
  return createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16);
}

/**
 * Removes drill containers a killed run of this installation left (a drill's own `finally`
 * removes it otherwise). Called with the run lock held, so no live drill of this installation is
 * among them. Never fails the caller.
 */
export async function removeLeftoverDrills(
  docker: DockerAdapter,
  stateDir: string,
  log: Logger,
): Promise<void> {
  try {
    for (const name of await docker.namesWithLabel(`${drillLabel}=${drillOwner(stateDir)}`)) {
      await docker.remove(name);
      log.warn(
        { step: 'recover', container: name },
        `Removed ${name}, a restore drill left by a killed run.`,
      );
    }
  } catch (error) {
    log.debug({ step: 'recover', err: error }, 'Could not look for leftover drill containers.');
  }
}
