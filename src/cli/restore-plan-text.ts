import path from 'node:path';
import { formatBytes, plural } from '../format.js';
import type { RestorePlan } from '../restore/plan.js';
import type { DriveSession } from '../session/drive-session.js';

/** The restore plan as `restore` (without --yes) prints it: what would be done, in order. */
export function formatPlan(session: DriveSession, plan: RestorePlan): string {
  const { config } = session;
  const lines = [
    `Restore plan (nothing has been changed):`,
    plan.dump
      ? `  Backup:    ${plan.dump.name} (${formatBytes(plan.dump.bytes)}, ${plan.format}${plan.dump.sidecar ? '' : ', no sidecar'})`
      : `  Backup:    files/ only (no usable dump on the drive)`,
    `  Immich:    backup ${plan.backup.immich ?? 'unknown'}, running ${plan.running.immich ?? 'unknown'}`,
    `  Postgres:  backup ${plan.backup.postgres ?? 'unknown'}, running ${plan.running.postgres ?? 'unknown'}`,
  ];
  if (plan.majorMismatch) {
    lines.push(
      `  REFUSED without --force: the backup is from Immich ${plan.majorMismatch.backup}.x, the running server is ${plan.majorMismatch.running}.x.`,
    );
  } else if (plan.backup.immich === null || plan.running.immich === null) {
    lines.push(
      '  Note:      the versions cannot be compared; check that the Immich versions match.',
    );
  }
  // Where it writes, before --yes: the library may come from a .env someone else owns.
  const library = plan.library;
  const owner = library.owner ? `, owned by ${library.owner.uid}:${library.owner.gid}` : '';
  lines.push(
    `  Writes to: ${[
      plan.database
        ? `database "${config.immich.databaseName}" in container ${config.immich.databaseContainer}`
        : '',
      plan.files
        ? `the library folder ${library.realPath}${library.realPath !== library.configured ? ` (configured as ${library.configured})` : ''}${owner}`
        : '',
    ]
      .filter(Boolean)
      .join('; ')}; nothing else.`,
  );
  lines.push(`  1. Stop ${config.immich.serverContainer}.`);
  let step = 2;
  if (plan.database) {
    lines.push(
      plan.format === 'pg_dump'
        ? `  ${step++}. Restore database "${config.immich.databaseName}" in ${config.immich.databaseContainer} in one transaction (the search_path fix applied; on any error nothing changes).`
        : `  ${step++}. Restore the whole cluster dump into ${config.immich.databaseContainer} through the postgres database (a legacy pg_dumpall dump).`,
    );
  }
  if (plan.files && plan.filesToCopy?.files === 0) {
    lines.push(
      `  ${step++}. Nothing to copy back: ${plan.library.realPath} has every file of the backup.`,
    );
  } else if (plan.files && plan.filesToCopy) {
    lines.push(
      `  ${step++}. Copy ${plural(plan.filesToCopy.files, 'missing or changed file')} (${formatBytes(plan.filesToCopy.bytes)}) from the drive's files/ into ${plan.library.realPath} (regular files and folders only, no setuid bits, owned by the library folder's owner); nothing is deleted, replaced files are kept in ${path.basename(plan.replacedFilesDir)}/.`,
    );
  }
  lines.push(`  ${step}. Start ${config.immich.serverContainer} again.`);
  lines.push('Run again with --yes to do it.');
  return lines.join('\n');
}
