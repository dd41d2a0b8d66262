import { formatBytes } from '../format.js';
import type { FromDriveSummary } from '../restore/from-drive-execute.js';
import type { FromDrivePlan, PlannedImage } from '../restore/from-drive-plan.js';
import { describeVersions } from '../restore/version-guard.js';

function imageLine(planned: PlannedImage): string {
  const { image, role } = planned;
  if (!image) return `  ${role}: not recorded in the kit; compose uses the compose file's image`;
  const how = {
    here: 'already on this machine',
    drive: `loaded from the drive (${image.saved ?? ''})`,
    missing: `NOT here and not on the drive: docker pull ${image.repoDigests[0] ?? image.reference}`,
    unknown: 'unknown',
  }[planned.source];
  return `  ${role}: ${image.reference} (${image.id.slice(0, 19)}…): ${how}`;
}

/** What `restore --from-drive` would do, for a person to read before giving --yes. */
export function formatFromDrivePlan(plan: FromDrivePlan): string {
  const kit = plan.kit.immich;
  return [
    `Restore from the drive (backup folder ${plan.backupDir})`,
    `Dump: ${plan.dump.name} (${formatBytes(plan.dump.bytes)}, ${plan.format}, read to its end: intact)`,
    `Versions: ${describeVersions(plan.versions)}`,
    'Images:',
    ...plan.images.map(imageLine),
    plan.toPull.length > 0
      ? `  compose will pull (this needs the network and the registry): ${plan.toPull.join(', ')}`
      : '  compose finds every image of the compose file here',
    `App folder: ${plan.appDir} gets ${plan.composeName} and .env (0600) from the drive, with`,
    `  UPLOAD_LOCATION=${plan.library}`,
    `  DB_DATA_LOCATION=${plan.dbDataDir} (new, empty)`,
    `Database: compose starts the service ${plan.databaseService} (container ${kit.databaseContainer}); the dump goes into ${kit.database} as ${kit.databaseUser}, in one transaction`,
    `Library: ${plan.backupDir}/files/ is copied into ${plan.library} (nothing deleted)`,
    `Then: compose up -d (all of Immich: ${kit.serverContainer} and the rest), and checks: the server stays up, every table has the dump's rows, every original the dump references is in the library`,
    '',
    'Nothing was changed. Run again with --yes to do it.',
  ].join('\n');
}

export function formatFromDriveSummary(summary: FromDriveSummary): string {
  const lines = summary.done.map((text) => `  done: ${text}`);
  if (summary.ok) return ['Restored from the drive:', ...lines].join('\n');
  return [
    'Restore from the drive FAILED',
    ...lines,
    `  failed: ${summary.failure?.message ?? summary.problems.join('; ')}`,
    `  next: ${summary.failure?.next ?? ''}`,
  ].join('\n');
}
