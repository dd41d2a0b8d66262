import type { AgentError, StepName } from '../errors.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import {
  driveNotUsed,
  emptyRecord,
  noPowerDecision,
  type RunRecord,
  type Trigger,
} from '../history/record.js';
import { decideOutcome } from '../policy/outcome.js';

/**
 * What a run has learnt so far. Steps fill in their part; `toRecord` turns it into the record,
 * whatever point the run reached.
 */
export class RunState {
  drive: RunRecord['drive'] = null;
  database: RunRecord['database'] = null;
  files: RunRecord['files'] = null;
  config: RunRecord['config'] = null;
  server: RunRecord['server'] = null;
  power: RunRecord['power'] = { ...noPowerDecision };
  unplug: RunRecord['unplug'] = null;
  verify: RunRecord['verify'] = null;
  guard: RunRecord['guard'] = null;
  originals: RunRecord['originals'] = null;
  readBack: RunRecord['readBack'] = null;
  restoreKit: RunRecord['restoreKit'] = null;
  /** Every damaged original found (the record names the first 1,000): the copy leaves them alone. */
  damagedOriginals: readonly string[] = [];
  /** What the space check measured: bytes of new files to copy (not in the record). */
  plannedNewBytes: number | null = null;
  readonly warnings: string[] = [];
  /** The code of the first warning that has one (ORIGINALS_DAMAGED, …): the run's reason. */
  private warningCode: string | null = null;
  private primary: AgentError | null = null;
  private readonly cleanupErrors: AgentError[] = [];

  constructor(
    readonly id: string,
    readonly trigger: Trigger,
    readonly startedAt: Date,
    readonly options: { dryRun: boolean; forced: boolean; catchUp: boolean; agentVersion: string },
  ) {}

  /** Keeps the first error; later ones are consequences and stay in the log. */
  fail(error: AgentError): void {
    this.primary ??= error;
  }

  get failed(): boolean {
    return this.primary !== null;
  }

  addCleanupError(error: AgentError): void {
    this.cleanupErrors.push(error);
  }

  /** Did putting something back fail in this step (the unmount, say)? */
  cleanupFailed(step: StepName): boolean {
    return this.cleanupErrors.some((error) => error.step === step);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** A warning with a code (ORIGINALS_DAMAGED, BACKUP_DAMAGED): the first one is the reason. */
  warnWithCode(code: string, message: string): void {
    this.warnings.push(message);
    this.warningCode ??= code;
  }

  verdict(): ReturnType<typeof decideOutcome> {
    return decideOutcome(this.primary, this.cleanupErrors, this.warnings, this.warningCode);
  }

  /**
   * The record of the run as far as it got. `forDrive` is the drive the run is for once that
   * is known (the only one configured, or the one chosen): the record names it even when the run
   * ended before finding it (not due, drive absent, already running).
   */
  toRecord(
    finishedAt: Date,
    nextDueAt: Date | null,
    forDrive: { uuid: string; label?: string } | null,
  ): RunRecord {
    const verdict = this.verdict();
    const durationMs = finishedAt.getTime() - this.startedAt.getTime();
    const errors = [this.primary, ...this.cleanupErrors].filter(
      (error): error is AgentError => error !== null,
    );
    return {
      ...emptyRecord({
        id: this.id,
        trigger: this.trigger,
        outcome: verdict.outcome,
        startedAt: this.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        agentVersion: this.options.agentVersion,
      }),
      reason: verdict.reason,
      message: verdict.error?.message ?? this.successMessage(durationMs),
      hint: verdict.error?.hint ?? null,
      dryRun: this.options.dryRun,
      forced: this.options.forced,
      drive: this.drive ?? (forDrive && driveNotUsed(forDrive)),
      database: this.database,
      files: this.files,
      config: this.config,
      server: this.server,
      power: this.power,
      unplug: this.unplug,
      verify: this.verify,
      guard: this.guard,
      originals: this.originals,
      readBack: this.readBack,
      restoreKit: this.restoreKit,
      catchUp: this.options.catchUp,
      nextDueAt: nextDueAt?.toISOString() ?? null,
      warnings: [...this.warnings],
      errors: errors.map((error) => ({
        code: error.code,
        step: error.step ?? null,
        message: error.message,
        hint: error.hint ?? null,
      })),
    };
  }

  private successMessage(durationMs: number): string {
    const parts: string[] = [];
    if (this.database) parts.push(`dumped the database (${formatBytes(this.database.bytes)})`);
    if (this.files) {
      parts.push(
        this.files.transferredFiles === 0
          ? 'found no new files to copy'
          : `copied ${plural(this.files.transferredFiles, 'new or changed file')} (${formatBytes(this.files.transferredBytes)})`,
      );
    }
    const did = parts.length > 0 ? parts.join(' and ') : 'nothing to do';
    return `Backup finished in ${formatDuration(durationMs)}: ${did}.`;
  }
}
