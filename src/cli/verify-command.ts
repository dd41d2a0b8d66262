import { isAgentError } from '../errors.js';
import { verifyBackup, type VerifyReport } from '../verify/verify-backup.js';
import { withBackupDrive } from './setup.js';
import { exitCodes } from '../exit-codes.js';
import { formatFullReport, verifyFullReport } from './verify-full-command.js';

/**
 * `verify [--drill] [--date D] [--json]`: exit 0 when the backup is good, 1 with every problem
 * named. `verify --full`: every original read back against Immich's checksums instead.
 */
export async function verifyCommand(
  configFlag: string | undefined,
  options: { drill: boolean; date?: string; json: boolean; full?: boolean },
): Promise<number> {
  try {
    if (options.full === true) {
      if (options.drill) {
        process.stderr.write(
          'verify: --full and --drill are two checks; run them one at a time.\n',
        );
        return exitCodes.usage;
      }
      const full = await verifyFullReport(configFlag, options.date);
      process.stdout.write(
        options.json ? `${JSON.stringify(full, null, 2)}\n` : `${formatFullReport(full)}\n`,
      );
      return full.ok ? exitCodes.ok : exitCodes.failed;
    }
    const report = await withBackupDrive(
      configFlag,
      { lock: true, trigger: 'verify', console: process.stderr },
      async (session) => {
        const last = await session.deps.history.latestUsing(session.target.filesystem.uuid);
        return verifyBackup(
          { config: session.config, docker: session.deps.docker, log: session.logger },
          session.target,
          {
            date: options.date,
            drill: options.drill,
            sampleSize: session.config.verify.sampleSize,
            signal: session.deps.signal,
            // What the drive refused at the last backup to it is named, not counted missing;
            // what it kept on purpose (the library's copy damaged) is named, not a difference.
            notStored: last?.files?.notStored?.names,
            keptGood: last?.originals?.damaged,
          },
        );
      },
    );
    process.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
    );
    return report.ok ? exitCodes.ok : exitCodes.failed;
  } catch (error) {
    if (!isAgentError(error) || error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_INSECURE')
      throw error;
    process.stdout.write(`Verify could not check the backup: ${error.longMessage}\n`);
    return error.code === 'ALREADY_RUNNING' ? exitCodes.retryLater : exitCodes.failed;
  }
}

export function formatReport(report: VerifyReport): string {
  const problems = report.checks.filter((check) => !check.ok);
  const lines = [
    `Backup ${report.dump.name}: ${report.ok ? 'GOOD' : `${problems.length} PROBLEM${problems.length === 1 ? '' : 'S'}`}`,
  ];
  for (const check of report.checks)
    lines.push(`  ${check.ok ? 'ok     ' : 'PROBLEM'} ${check.name.padEnd(8)} ${check.detail}`);
  return lines.join('\n');
}
