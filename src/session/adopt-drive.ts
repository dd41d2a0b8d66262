import {
  describeIdentity,
  hardwareIdentity,
  identityDifferences,
  type HardwareIdentity,
} from '../adapters/device-identity.js';
import type { BlockFilesystem } from '../adapters/drive.js';
import type { ResolvedDrive } from '../config/load.js';
import { chooseDrive } from './choose-drive.js';
import type { RunDeps } from './deps.js';
import { takeRunLock } from './lock.js';
import { prepareDrive } from './prepare-drive.js';
import { newRunId } from './run-id.js';
import { trustStore, type DrivePin } from './trust-store.js';
import { UndoStack } from './undo-stack.js';

/** The device attached with a configured UUID, next to the drive trusted for it now. */
export interface TrustCandidate {
  driveConfig: ResolvedDrive;
  filesystem: BlockFilesystem;
  identity: HardwareIdentity;
  /** What the attached device is: one line. */
  described: string;
  trusted: DrivePin | null;
  /** How its hardware differs from the trusted drive's (empty: the same, or none trusted). */
  differences: string[];
}

/** Finds the device with this configured UUID and tells it apart from the trusted one. Changes nothing. */
export async function trustCandidate(deps: RunDeps, uuid: string): Promise<TrustCandidate> {
  const driveConfig = await chooseDrive(deps, { drive: uuid }, 'first-attached');
  const filesystem = await deps.drive.locate(driveConfig.uuid, deps.signal);
  const identity = await hardwareIdentity(filesystem.device);
  const lookup = await trustStore(deps.config.stateDir).readPin(filesystem.uuid);
  const trusted = 'pin' in lookup ? lookup.pin : null;
  return {
    driveConfig,
    filesystem,
    identity,
    described: describeIdentity(identity),
    trusted,
    differences: trusted ? identityDifferences(trusted.identity, identity) : [],
  };
}

/**
 * Adopts the device now attached with this UUID as the backup drive (`drive trust`,
 * install): under the run lock, mounted and proven as for a backup, a new token written on it
 * and its pin replacing the previous drive's. Unmounted again if it was not mounted before.
 */
export async function adoptAttachedDrive(
  deps: RunDeps,
  candidate: TrustCandidate,
  trigger: string,
): Promise<void> {
  const runId = newRunId(deps.clock());
  deps.runScope.enter(runId);
  const log = deps.logger.child({ trigger });
  const undo = new UndoStack(log);
  const lock = await takeRunLock(deps.config.stateDir, {
    runId,
    trigger,
    startedAt: deps.clock().toISOString(),
  }).catch((error: unknown) => {
    deps.runScope.leave();
    throw error;
  });
  try {
    await prepareDrive({
      config: deps.config,
      drive: deps.drive,
      driveConfig: candidate.driveConfig,
      log,
      undo,
      signal: deps.signal,
      dryRun: false,
      runId,
      trust: 'adopt',
      adoptShown: { device: candidate.filesystem.device, identity: candidate.identity },
    });
  } finally {
    await undo.unwind();
    await lock.release();
    deps.runScope.leave();
  }
}
