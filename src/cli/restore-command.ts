import { AgentError, isAgentError } from '../errors.js';
import { executeRestore } from '../restore/execute.js';
import { planRestore } from '../restore/plan.js';
import { formatPlan } from './restore-plan-text.js';
import { withBackupDrive } from './setup.js';
import { exitCodes } from '../exit-codes.js';

export interface RestoreCommandOptions {
  date?: string;
  databaseOnly: boolean;
  filesOnly: boolean;
  yes: boolean;
  force: boolean;
}

/**
 * `restore [--date D] [--database-only | --files-only] [--yes] [--force]`: without --yes, the
 * plan and nothing changed; with it, the restore. Exit 0 done (or planned), 1 failed or refused.
 */
export async function restoreCommand(
  configFlag: string | undefined,
  options: RestoreCommandOptions,
): Promise<number> {
  if (options.databaseOnly && options.filesOnly) {
    throw new AgentError('CONFIG_INVALID', '--database-only and --files-only exclude each other.', {
      hint: 'Give one of them, or neither for both.',
    });
  }
  try {
    return await withBackupDrive(
      configFlag,
      { lock: options.yes, trigger: 'restore', console: process.stderr },
      async (session) => {
        const plan = await planRestore(session, options);
        if (!options.yes) {
          process.stdout.write(`${formatPlan(session, plan)}\n`);
          return exitCodes.ok;
        }
        const record = await executeRestore(session, plan, { force: options.force });
        process.stdout.write(
          `${record.outcome === 'failed' ? 'Restore FAILED' : 'Restored'}: ${record.message}\n`,
        );
        return record.outcome === 'failed' ? exitCodes.failed : exitCodes.ok;
      },
    );
  } catch (error) {
    if (!isAgentError(error) || error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_INSECURE')
      throw error;
    process.stdout.write(`Restore refused: ${error.longMessage}\n`);
    return error.code === 'ALREADY_RUNNING' ? exitCodes.retryLater : exitCodes.failed;
  }
}
