/**
 * The agent's one error type. The code is stable: it is what `last-run --json` reports as
 * `reason`, what scripts match on, and what the exit code is derived from. The hint is the
 * sentence a person needs next; the cause keeps the original error for the log.
 */
export const errorCodes = [
  'CONFIG_INVALID',
  'CONFIG_INSECURE',
  'ALREADY_RUNNING',
  'NOT_DUE',
  'DRIVE_ABSENT',
  'DRIVE_AMBIGUOUS',
  'DRIVE_MISMATCH',
  'DRIVE_NOT_TRUSTED',
  'DRIVE_READ_ONLY',
  'DRIVE_GONE',
  'DRIVE_WRITE_FAILED',
  'MOUNT_FAILED',
  'LIBRARY_UNAVAILABLE',
  'DOCKER_UNAVAILABLE',
  'CONTAINER_MISSING',
  'SERVER_STOP_FAILED',
  'SERVER_START_FAILED',
  'DUMP_FAILED',
  'SYNC_FAILED',
  'NO_SPACE',
  'COPY_FAILED',
  'TOOL_MISSING',
  'TIMEOUT',
  'INTERRUPTED',
  'STATE_UNWRITABLE',
  'DBUS_FAILED',
  'NO_BACKUP',
  'VERIFY_FAILED',
  'RESTORE_FAILED',
  'VERSION_MISMATCH',
  'MASS_CHANGE',
  'ORIGINALS_DAMAGED',
  'BACKUP_DAMAGED',
  'RESTORE_KIT_FAILED',
  'IMAGE_MISSING',
  'METRICS_NOT_WRITTEN',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/**
 * The steps a command goes through, as errors, log events and `status` name them: a run's in
 * its order (start … finish), then what verify, restore, recovery and the daemon add.
 */
export const stepNames = [
  'start',
  'lock',
  'recover',
  'drive',
  'policy',
  'sync-window',
  'inhibit',
  'space',
  'guard',
  'preflight',
  'stop',
  'dump',
  'restart',
  'sync',
  'config',
  'verify',
  'drill',
  'retention',
  'record',
  'unplug',
  'power',
  'notify',
  'finish',
  'cleanup',
  'signal',
  'dbus',
  'daemon',
  'backups',
  'restore',
  'prune-versions',
  'install',
  'restore-kit',
  'metrics',
] as const;

export type StepName = (typeof stepNames)[number];

export interface AgentErrorOptions {
  /** The sentence a person needs next ("Plug in the backup drive", "Check …"). */
  hint?: string;
  /** The step of the run that failed (`drive`, `dump`, `sync`, …). */
  step?: StepName;
  cause?: unknown;
  /** Facts worth keeping in the record and the log (numbers, names; never secrets). */
  details?: Record<string, unknown>;
}

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly step: StepName | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.step = options.step;
    this.details = options.details ?? {};
  }

  /** The message and the hint together, as a person should read them. */
  get longMessage(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

export function isAgentError(error: unknown, code?: ErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.code === code);
}

/** Wraps anything thrown into an AgentError, keeping an existing one (and its step) as it is. */
export function toAgentError(error: unknown, fallback: ErrorCode, step?: StepName): AgentError {
  if (error instanceof AgentError) {
    if (error.step === undefined && step !== undefined) {
      return new AgentError(error.code, error.message, {
        hint: error.hint,
        step,
        cause: error.cause,
        details: error.details,
      });
    }
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AgentError(fallback, message, { step, cause: error });
}
