import { keepsPermissions } from '../adapters/filesystem-types.js';
import {
  copiesAsOf,
  libraryRelativePath,
  pruneVersions,
  type SkippedEntry,
} from '../drive-content/versions.js';
import { versionsFolder } from '../layout/drive.js';
import { checkLibraryPlace, openLibraryFolder } from '../restore/library-folder.js';
import { agentFolders } from '../restore/plan.js';
import { restoreCopies } from '../restore/restore-path.js';
import { AgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { withBackupDrive } from './setup.js';
import { exitCodes } from '../exit-codes.js';

/** `prune-versions --older-than DAYS`: removes old versions, never the last copy of anything. */
export async function pruneVersionsCommand(
  configFlag: string | undefined,
  olderThanDays: number,
): Promise<number> {
  return withBackupDrive(
    configFlag,
    { lock: true, trigger: 'prune-versions', console: process.stderr },
    async (session) => {
      const result = await pruneVersions(
        session.target.backupDir,
        olderThanDays,
        session.deps.clock(),
      );
      const kept =
        result.keptOnlyCopies > 0
          ? `; kept ${plural(result.keptOnlyCopies, 'version')} that ${result.keptOnlyCopies === 1 ? 'is' : 'are'} the only copy left`
          : '';
      process.stdout.write(
        `Removed ${plural(result.removedFiles, 'old version')} (${formatBytes(result.removedBytes)}) older than ${olderThanDays} days${kept}.\n`,
      );
      session.logger.info(
        { step: 'prune-versions', ...result },
        `Pruned versions older than ${olderThanDays} days.`,
      );
      return exitCodes.ok;
    },
  );
}

/**
 * `restore --path P --as-of YYYY-MM-DD [--yes]`: a file or folder of the library as it was on
 * that day (the current copy, or the version replaced after that day). Without --yes the plan;
 * with it, the copies go back into the library, and what they replace is kept aside. P is a
 * path inside the library (checked before anything is opened); what is on the drive or in the
 * library is reached without following a link (see restore/restore-path.ts).
 */
export async function restorePathCommand(
  configFlag: string | undefined,
  options: { path: string; asOf: string; yes: boolean },
): Promise<number> {
  if (!/^\d{4}-\d\d-\d\d$/.test(options.asOf)) {
    throw new AgentError('CONFIG_INVALID', `--as-of ${options.asOf} is not a date (YYYY-MM-DD).`);
  }
  const relative = libraryRelativePath(options.path).join('/');
  return withBackupDrive(
    configFlag,
    { lock: options.yes, trigger: 'restore', console: process.stderr },
    async (session) => {
      const { config, logger } = session;
      const libraryDir = await checkLibraryPlace(config.immich.libraryDir, agentFolders(config));
      const { copies, skipped } = await copiesAsOf(
        session.target.backupDir,
        relative,
        options.asOf,
      );
      const named = (entries: SkippedEntry[], what: string): void => {
        for (const entry of entries) {
          process.stdout.write(`${what} ${entry.entry}: it ${entry.why}.\n`);
          logger.warn(
            { step: 'restore', entry: entry.entry },
            `${what} ${entry.entry}: it ${entry.why}.`,
          );
        }
      };
      named(skipped, 'Skipped the drive’s');
      if (copies.size === 0) {
        process.stdout.write(`The backup has nothing at ${relative} that can be restored.\n`);
        return exitCodes.failed;
      }
      const fromVersions = [...copies.values()].filter((copy) =>
        copy.startsWith(`${versionsFolder}/`),
      ).length;
      if (!options.yes) {
        process.stdout.write(
          `Restore plan (nothing has been changed): ${plural(copies.size, 'file')} under ${relative} as on ${options.asOf} (${fromVersions} from versions/, the rest from files/).\n  Writes into the library folder ${libraryDir} only, under ${relative}; files are owned by the library folder’s owner, files they replace are kept aside in .immich-backup-agent-replaced-…/.\nRun again with --yes to do it.\n`,
        );
        return exitCodes.ok;
      }
      const library = await openLibraryFolder(config.immich.libraryDir, agentFolders(config));
      let result;
      try {
        result = await restoreCopies(session.target.backupDir, copies, library, {
          asideName: `.immich-backup-agent-replaced-${session.runId}`,
          // A drive without permissions has only its mount's made-up modes (0700 root).
          plainModes: !keepsPermissions(session.target.filesystemType),
        });
      } finally {
        await library.handle.close();
      }
      named(result.skipped, 'Skipped the drive’s');
      named(result.refused, 'Refused to write');
      process.stdout.write(
        `Restored ${plural(result.restored, 'file')} under ${relative} as on ${options.asOf}${result.unchanged > 0 ? ` (${result.unchanged} already as they were)` : ''}.\n`,
      );
      logger.info(
        { step: 'restore', restored: result.restored, path: relative, asOf: options.asOf },
        `Restored ${relative} as on ${options.asOf}.`,
      );
      return result.refused.length > 0 ? exitCodes.failed : exitCodes.ok;
    },
  );
}
