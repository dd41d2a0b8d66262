import { isAgentError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { describeIdentity } from '../adapters/device-identity.js';
import { adoptAttachedDrive, trustCandidate } from '../session/adopt-drive.js';
import type { RunDeps } from '../session/deps.js';
import { trustStore } from '../session/trust-store.js';
import { openCommand } from './setup.js';

/**
 * `drive trust --uuid UUID [--dry-run]`: shows the device attached with that UUID next to the
 * drive trusted now, then adopts it (a replacement, or a first drive), as the contract says;
 * with --dry-run it only shows.
 */
export async function driveTrustCommand(
  configFlag: string | undefined,
  options: { uuid: string; dryRun: boolean },
): Promise<number> {
  const command = await openCommand(configFlag, {
    writeFile: !options.dryRun,
    console: process.stderr,
  });
  try {
    return await trustDrive(command.deps, options.uuid, !options.dryRun, 'drive-trust');
  } finally {
    command.close();
  }
}

/** What `drive trust` and `install` share: show, then (unless only shown) adopt. */
export async function trustDrive(
  deps: RunDeps,
  uuid: string,
  adopt: boolean,
  trigger: string,
): Promise<number> {
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  const candidate = await trustCandidate(deps, uuid);
  const { filesystem, trusted } = candidate;
  out(
    `Attached with UUID ${filesystem.uuid}: ${filesystem.device} (${filesystem.fsType}${filesystem.label ? `, "${filesystem.label}"` : ''}): ${candidate.described}.`,
  );
  if (trusted) {
    out(
      `Trusted now (since ${trusted.pinnedAt}, ${trusted.how}): ${describeIdentity(trusted.identity)}.`,
    );
    out(
      candidate.differences.length === 0
        ? 'Its hardware is the trusted drive’s.'
        : `It is other hardware: ${candidate.differences.join('; ')}.`,
    );
  } else {
    out('No drive is trusted for this UUID yet.');
  }
  if (!adopt) {
    out(
      'Nothing was changed (--dry-run). Run again without it to adopt this device as the backup drive.',
    );
    return exitCodes.ok;
  }
  await adoptAttachedDrive(deps, candidate, trigger);
  out(
    `Adopted ${filesystem.device} as the backup drive for UUID ${filesystem.uuid}: from now on only it gets backups${trusted ? '; the drive trusted before is refused' : ''}.`,
  );
  return exitCodes.ok;
}

/**
 * install (to /): adopts each configured drive that is attached now, so the drive at hand is
 * the trusted one from the start; one that is not attached is adopted on its first use.
 */
export async function adoptOnInstall(configFile: string): Promise<void> {
  const said = (error: unknown): string => (isAgentError(error) ? error.message : String(error));
  let command;
  try {
    command = await openCommand(configFile, { writeFile: true, console: process.stderr });
  } catch (error) {
    process.stdout.write(`No drive adopted (${said(error)}); it is adopted on its first use.\n`);
    return;
  }
  try {
    for (const drive of command.config.drives) {
      // A drive trusted already stays so: re-running install never replaces a pin (an impostor
      // attached during an upgrade would otherwise become the drive); `drive trust` does that.
      if ('pin' in (await trustStore(command.config.stateDir).readPin(drive.uuid))) {
        process.stdout.write(
          `Drive ${drive.uuid} is trusted already; \`drive trust --uuid ${drive.uuid}\` adopts a replacement.\n`,
        );
        continue;
      }
      await trustDrive(command.deps, drive.uuid, true, 'install').catch((error: unknown) => {
        process.stdout.write(
          `Drive ${drive.uuid} not adopted now (${said(error)}); it is adopted on its first use.\n`,
        );
      });
    }
  } finally {
    command.close();
  }
}
