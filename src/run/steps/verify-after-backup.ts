import { applyRetention } from '../../drive-content/retention.js';
import { readSidecar, writeSidecar } from '../../drive-content/sidecar.js';
import { AgentError } from '../../errors.js';
import { verifyBackup } from '../../verify/verify-backup.js';
import { dumpDate } from '../../layout/drive.js';
import type { StepContext } from '../context.js';
import type { PreparedDrive } from '../../session/prepare-drive.js';

/**
 * verify.afterBackup: checks the backup just made (quick: dump, sidecar, files, a sample; drill:
 * also a test restore), once the server runs again. Only after a backup that went through; a
 * problem fails the run with VERIFY_FAILED, every problem in the record, and the new dump's
 * sidecar then says it is not verified. retention.keepDumps runs only after the check passed, so
 * a dump that fails it never costs an older good one.
 */
export async function verifyAfterBackup(
  context: StepContext,
  target: PreparedDrive,
): Promise<void> {
  const { config, state } = context;
  if (
    config.verify.afterBackup === 'off' ||
    state.failed ||
    context.signal.aborted ||
    state.database === null
  )
    return;
  const report = await verifyBackup({ config, docker: context.docker, log: context.log }, target, {
    date: dumpDate(state.database.file) ?? undefined,
    drill: config.verify.afterBackup === 'drill',
    sampleSize: config.verify.sampleSize,
    signal: context.signal,
    notStored: state.files?.notStored?.names,
    keptGood: state.damagedOriginals,
  });
  const problems = report.checks
    .filter((check) => !check.ok)
    .map((check) => `${check.name}: ${check.detail}`);
  state.verify = { ok: report.ok, problems, drillRows: report.drill?.tables ?? null };
  if (report.ok) {
    await applyRetention(
      target.backupDir,
      config.retention.keepDumps,
      context.log,
      state.database.file,
    );
  } else {
    const sidecar = await readSidecar(target.backupDir, state.database.file, context.log);
    if (sidecar) await writeSidecar(target.backupDir, { ...sidecar, verified: false });
    state.fail(
      new AgentError(
        'VERIFY_FAILED',
        `The new backup did not pass its check: ${problems.join('; ')}`,
        {
          step: 'verify',
          hint: 'Run `immich-backup-agent verify` for the details, then run the backup again.',
        },
      ),
    );
  }
}
