import { listDumps } from '../drive-content/dumps.js';
import { formatBytes } from '../format.js';
import { withBackupDrive } from './setup.js';
import { exitCodes } from '../exit-codes.js';

/** `backups [--json]`: the dumps on the drive, with dates, sizes, versions, verified or not. */
export async function backupsCommand(
  configFlag: string | undefined,
  json: boolean,
): Promise<number> {
  const dumps = await withBackupDrive(
    configFlag,
    { lock: false, trigger: 'backups', console: process.stderr },
    (session) => listDumps(session.target.backupDir, session.logger),
  );
  if (json) {
    process.stdout.write(`${JSON.stringify(dumps, null, 2)}\n`);
  } else if (dumps.length === 0) {
    process.stdout.write('There is no database dump on the drive.\n');
  } else {
    // The date, with the time after it for a dump that must not replace that day's (a clock set back).
    const stamp = (name: string): string => name.replace(/^immich-db-|\.sql\.gz$/g, '');
    const width = Math.max(...dumps.map((dump) => stamp(dump.name).length));
    for (const dump of [...dumps].reverse()) {
      const sidecar = dump.sidecar;
      const versions = sidecar
        ? `Immich ${sidecar.immich.serverImageTag ?? sidecar.immich.envVersion ?? '?'}, PostgreSQL ${sidecar.postgres.serverVersion ?? '?'}, ${sidecar.format}`
        : 'no sidecar (made by the old scripts?)';
      process.stdout.write(
        `${stamp(dump.name).padEnd(width)}  ${formatBytes(dump.bytes).padStart(9)}  ${sidecar?.verified ? 'verified  ' : 'unverified'}  ${versions}\n`,
      );
    }
  }
  return exitCodes.ok;
}
