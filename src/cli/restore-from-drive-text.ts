import { formatBytes } from '../format.js';
import { escapeControlCharacters } from '../log/text.js';
import type { FromDriveSummary } from '../restore/from-drive-execute.js';
import type { FromDrivePlan, PlannedImage } from '../restore/from-drive-plan.js';
import { spaceLines } from '../restore/from-drive-space.js';
import { describeVersions } from '../restore/version-guard.js';

/** A value from the drive (or any path) kept on its line: control characters shown escaped. */
const v = (value: unknown): string => escapeControlCharacters(String(value));

function imageLine(planned: PlannedImage): string {
  const { image, role } = planned;
  if (!image) return `  ${role}: not recorded in the kit; compose uses the compose file's image`;
  const how = {
    here: 'already on this machine (its reference is pointed at it)',
    drive: `loaded from the drive (${v(image.saved ?? '')})`,
    missing: `NOT here and not on the drive: docker pull ${v(image.repoDigests[0] ?? image.reference)}`,
    unknown: 'unknown',
  }[planned.source];
  return `  ${role}: ${v(image.reference)} (${v(image.id.slice(0, 19))}…): ${how}`;
}

/** Every mount, an anonymous volume (no source) too. */
function mounts(volumes: readonly { source: string; target: string }[]): string {
  if (volumes.length === 0) return '';
  return `, mounts ${volumes.map((volume) => `${v(volume.source || '(anonymous)')} → ${v(volume.target)}`).join(', ')}`;
}

/** What `restore --from-drive` would do, for a person to read before giving --yes. */
export function formatFromDrivePlan(plan: FromDrivePlan): string {
  const kit = plan.kit.immich;
  const compose = plan.flavour === 'v2' ? 'docker compose (v2)' : 'docker-compose (v1)';
  return [
    `Restore from the drive (backup folder ${v(plan.backupDir)})`,
    `Dump: ${v(plan.dump.name)} (${formatBytes(plan.dump.bytes)}, ${plan.format}, read to its end: intact)`,
    `Versions: ${v(describeVersions(plan.versions))}`,
    'Images:',
    ...plan.images.map(imageLine),
    plan.toPull.length > 0
      ? `  compose will pull (this needs the network and the registry): ${plan.toPull.map(v).join(', ')}`
      : '  compose finds every image of the compose file here',
    ...(plan.unpinned.length > 0
      ? [
          `  the image digest (@sha256:…) is removed from the service${plan.unpinned.length > 1 ? 's' : ''} ${plan.unpinned.map(v).join(', ')} in the compose file written: compose runs the kit's image instead of pulling`,
        ]
      : []),
    `Compose: ${compose}, services:`,
    ...plan.services.map(
      (service) =>
        `  ${v(service.name)}: ${v(service.image)}${service.containerName ? ` (container ${v(service.containerName)})` : ''}${mounts(service.volumes)}`,
    ),
    `App folder: ${v(plan.appDir)} gets ${v(plan.composeName)} and .env (0600) from the drive, with`,
    `  UPLOAD_LOCATION=${v(plan.library)}`,
    `  DB_DATA_LOCATION=${v(plan.dbDataDir)} (new, empty)`,
    '  (both also given to compose through its environment, which it takes before .env)',
    `Database: compose starts the service ${v(plan.databaseService)} (container ${v(kit.databaseContainer)}); the dump goes into ${v(kit.database)} as ${v(kit.databaseUser)}, in one transaction, and every table's rows are counted against the dump`,
    `Library: ${v(plan.backupDir)}/files/ is copied into ${v(plan.library)} (nothing deleted)`,
    ...spaceLines(plan.space),
    `Then: compose up -d (all of Immich: ${v(kit.serverContainer)} and the rest), and checks: the server stays up, every original the dump references is in the library`,
    '',
    'Nothing was changed. Run again with --yes to do it.',
  ].join('\n');
}

export function formatFromDriveSummary(summary: FromDriveSummary): string {
  const lines = summary.done.map((text) => `  done: ${v(text)}`);
  if (summary.ok) return ['Restored from the drive:', ...lines].join('\n');
  return [
    'Restore from the drive FAILED',
    ...lines,
    `  failed: ${v(summary.failure?.message ?? summary.problems.join('; '))}`,
    `  next: ${v(summary.failure?.next ?? '')}`,
  ].join('\n');
}
