import { chmod, chown, copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { keepsPermissions } from '../adapters/filesystem-types.js';
import path from 'node:path';
import { copiesAsOf, pruneVersions } from '../drive-content/versions.js';
import { AgentError } from '../errors.js';
import { formatBytes, plural } from '../format.js';
import { withBackupDrive } from './setup.js';
import { exitCodes } from '../exit-codes.js';
import { sha256 } from '../verify/library-check.js';

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
 * with it, the copies go back into the library, and what they replace is kept aside.
 */
export async function restorePathCommand(
  configFlag: string | undefined,
  options: { path: string; asOf: string; yes: boolean },
): Promise<number> {
  if (!/^\d{4}-\d\d-\d\d$/.test(options.asOf)) {
    throw new AgentError('CONFIG_INVALID', `--as-of ${options.asOf} is not a date (YYYY-MM-DD).`);
  }
  return withBackupDrive(
    configFlag,
    { lock: options.yes, trigger: 'restore', console: process.stderr },
    async (session) => {
      const copies = await copiesAsOf(session.target.backupDir, options.path, options.asOf);
      const library = session.config.immich.libraryDir;
      if (copies.size === 0) {
        process.stdout.write(`The backup has nothing at ${options.path}.\n`);
        return exitCodes.failed;
      }
      const fromVersions = [...copies.values()].filter((source) =>
        source.includes(`${path.sep}versions${path.sep}`),
      ).length;
      if (!options.yes) {
        process.stdout.write(
          `Restore plan (nothing has been changed): ${plural(copies.size, 'file')} under ${options.path} as on ${options.asOf} (${fromVersions} from versions/, the rest from files/), into ${library}; files they replace are kept aside. Run again with --yes to do it.\n`,
        );
        return exitCodes.ok;
      }
      const aside = path.join(library, `.immich-backup-agent-replaced-${session.runId}`);
      const libraryOwner = await stat(library).catch(() => null);
      // A drive without permissions has only its mount's made-up modes (0700 root): its files
      // get plain ones and the library's owner instead.
      const plainModes = !keepsPermissions(session.target.filesystemType);
      /** Folders made for a restored file belong to the library's owner, as the library does. */
      const makeFolder = async (folder: string): Promise<void> => {
        const first = await mkdir(folder, { recursive: true });
        if (first === undefined || libraryOwner === null) return;
        for (let made = folder; made.length >= first.length; made = path.dirname(made))
          await chown(made, libraryOwner.uid, libraryOwner.gid);
      };
      let restored = 0;
      for (const [relative, source] of copies) {
        const target = path.join(library, relative);
        // Streamed, not read whole: a video can be larger than a Buffer may be.
        const current = await stat(target).catch(() => null);
        if (
          current !== null &&
          current.size === (await stat(source)).size &&
          (await sha256(target)) === (await sha256(source))
        )
          continue;
        await makeFolder(path.dirname(target));
        if (current !== null) {
          await makeFolder(path.dirname(path.join(aside, relative)));
          await rename(target, path.join(aside, relative));
        }
        await copyFile(source, target);
        if (plainModes && libraryOwner) {
          await chmod(target, 0o644);
          await chown(target, libraryOwner.uid, libraryOwner.gid);
        } else {
          // The owner the backup kept (copyFile makes the file root's), as restore's rsync does.
          const kept = await stat(source);
          await chown(target, kept.uid, kept.gid);
        }
        restored += 1;
      }
      process.stdout.write(
        `Restored ${plural(restored, 'file')} under ${options.path} as on ${options.asOf}.\n`,
      );
      session.logger.info(
        { step: 'restore', restored, path: options.path, asOf: options.asOf },
        `Restored ${options.path} as on ${options.asOf}.`,
      );
      return exitCodes.ok;
    },
  );
}
