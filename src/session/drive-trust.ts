import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { DriveAdapter, DriveMount } from '../adapters/drive.js';
import {
  describeIdentity,
  hardwareIdentity,
  identityDifferences,
  type HardwareIdentity,
} from '../adapters/device-identity.js';
import type { AgentConfig, ResolvedDrive } from '../config/load.js';
import { AgentError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-files.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { driveTokenFile, historyFolder } from '../layout/drive.js';
import type { Logger } from '../log/logger.js';
import { ensureFolderOnDrive } from './drive-folders.js';
import { trustStore, type TrustKey } from './trust-store.js';

/** `check` for every command; `adopt` for `drive trust` and install. */
export type TrustMode = 'check' | 'adopt';

/** What the check needs of prepareDrive's context. */
export interface TrustContext {
  config: Pick<AgentConfig, 'stateDir'>;
  drive: Pick<DriveAdapter, 'proveOnDrive'>;
  driveConfig: Pick<ResolvedDrive, 'uuid' | 'backupDir'>;
  log: Logger;
  dryRun: boolean;
  trust?: TrustMode;
  adoptShown?: AdoptShown;
}

/** The device `drive trust` showed before it took the lock and adopted. */
export interface AdoptShown {
  device: string;
  identity: HardwareIdentity;
}

/**
 * The drive is pinned: anyone can make a filesystem with the backup drive's UUID (a clone of
 * the stick, a loop device; the UUID is world-readable), so the UUID only finds the drive. It
 * is trusted when its hardware (serial or WWN, model, size; a loop device's backing file) is
 * the one recorded when it was adopted, and it carries the token written then, whose keyed
 * hash is in the state folder. Called once the drive is mounted and proven, before anything is
 * made on it: a refused drive gets nothing, not even a record.
 *
 * With no pin for the UUID yet, the drive is adopted on first use: a fresh install, or an
 * install from before drives were pinned whose drive holds backups already (said loudly).
 * A command that creates nothing (verify, restore) adopts only a drive that holds backups.
 */
export async function ensureDriveTrusted(
  context: TrustContext,
  filesystem: DriveMount,
  root: string,
  mayCreate: boolean,
): Promise<void> {
  const { log, driveConfig } = context;
  const identity = await hardwareIdentity(filesystem.device);
  const store = trustStore(context.config.stateDir);
  if (context.trust === 'adopt') {
    const shown = context.adoptShown;
    // Adopt only what was shown: a device swapped in since then (same UUID) is not it.
    if (
      shown &&
      (shown.device !== filesystem.device ||
        identityDifferences(shown.identity, identity).length > 0)
    ) {
      throw new AgentError(
        'DRIVE_NOT_TRUSTED',
        `The device with UUID ${filesystem.uuid} changed since it was shown (${shown.device}, now ${filesystem.device}, ${describeIdentity(identity)}): nothing was adopted.`,
        { step: 'drive', hint: 'Run `drive trust` again with only your drive attached.' },
      );
    }
    return adoptDrive(context, filesystem, root, identity, 'drive trust');
  }
  const lookup = await store.readPin(filesystem.uuid);
  if ('none' in lookup) {
    const backupDir = path.join(root, driveConfig.backupDir);
    const holdsBackups = (await lstat(backupDir).catch(() => null)) !== null;
    if (!mayCreate && !holdsBackups) return; // nothing on it to protect; nothing made on it
    const what = `${filesystem.device} (${describeIdentity(identity)})`;
    if (context.dryRun) {
      log.warn(
        { step: 'drive', identity },
        `No drive is trusted yet for UUID ${filesystem.uuid}: a run would adopt ${what} as the backup drive.`,
      );
      return;
    }
    log.warn(
      { step: 'drive', identity, adopted: true },
      holdsBackups
        ? `ADOPTING ${what} as the backup drive: no drive is trusted yet for UUID ${filesystem.uuid}, and this one holds backups (an install from before drives were pinned). From now on only this drive gets backups; if it is not yours, unplug it and run \`immich-backup-agent drive trust --uuid ${filesystem.uuid}\` with your drive attached.`
        : `ADOPTING ${what} as the backup drive on its first use (UUID ${filesystem.uuid}); from now on only this drive gets backups.`,
    );
    return adoptDrive(context, filesystem, root, identity, 'first use');
  }
  const refuse = (reason: string): AgentError =>
    new AgentError(
      'DRIVE_NOT_TRUSTED',
      `This is not your backup drive: ${filesystem.device} carries the backup drive's filesystem UUID ${filesystem.uuid}, but ${reason}. Nothing was written to it.`,
      {
        step: 'drive',
        hint: `If you replaced the backup drive, run \`immich-backup-agent drive trust --uuid ${filesystem.uuid}\` to adopt this one.`,
        details: { device: filesystem.device, identity },
      },
    );
  if ('broken' in lookup)
    throw refuse(`the record of the trusted drive cannot be read (${lookup.broken})`);
  const pin = lookup.pin;
  const differences = identityDifferences(pin.identity, identity);
  if (differences.length > 0) {
    throw refuse(
      `it is other hardware than the drive trusted since ${pin.pinnedAt}: ${differences.join('; ')}`,
    );
  }
  const key = await store.key(false);
  if (!key)
    throw refuse(
      `the key the trusted drive's token was checked with is missing from ${context.config.stateDir}`,
    );
  const token = await readToken(context, filesystem, root, key);
  if ('absent' in token) throw refuse(`it carries no token of this agent (${token.absent})`);
  if (!key.matches(token.text, pin.tokenHash))
    throw refuse('its token is not the one this agent wrote on the trusted drive');
  log.info(
    { step: 'drive' },
    `The drive is the trusted backup drive (${describeIdentity(identity)}, token checked).`,
  );
}

/** The token, read as a small regular file through folders proven not to be links. */
async function readToken(
  context: TrustContext,
  filesystem: DriveMount,
  root: string,
  key: TrustKey,
): Promise<{ text: string } | { absent: string }> {
  const history = path.join(context.driveConfig.backupDir, historyFolder);
  // A symlink or a file in place of a folder is refused (DRIVE_MISMATCH), as for every write.
  await ensureFolderOnDrive(context.drive, filesystem, root, history, false);
  const read = await readSmallRegularFile(
    path.join(root, context.driveConfig.backupDir, driveTokenFile(key.id)),
    1024,
  );
  return 'absent' in read ? read : { text: read.text.trim() };
}

/**
 * Makes this drive the trusted one for its UUID: a new random token on it (under a temporary
 * name, renamed; through folders proven on the drive), then its pin in the state folder, which
 * replaces the previous drive's.
 */
async function adoptDrive(
  context: TrustContext,
  filesystem: DriveMount,
  root: string,
  identity: HardwareIdentity,
  how: string,
): Promise<void> {
  if (context.dryRun) return;
  const store = trustStore(context.config.stateDir);
  const key = await store.key(true);
  if (!key) {
    throw new AgentError(
      'STATE_UNWRITABLE',
      `The drive trust key in ${context.config.stateDir} cannot be read.`,
      { step: 'drive', hint: 'Remove the file drive-trust.key there and run `drive trust` again.' },
    );
  }
  const history = path.join(context.driveConfig.backupDir, historyFolder);
  await ensureFolderOnDrive(context.drive, filesystem, root, history, true);
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(
    path.join(root, context.driveConfig.backupDir, driveTokenFile(key.id)),
    `${token}\n`,
    0o600,
  );
  await store.writePin({
    uuid: filesystem.uuid,
    identity,
    tokenHash: key.hash(token),
    pinnedAt: new Date().toISOString(),
    how,
  });
  context.log.info(
    { step: 'drive', identity, how },
    `Trusted ${filesystem.device} (${describeIdentity(identity)}) as the backup drive for UUID ${filesystem.uuid} (${how}).`,
  );
}
