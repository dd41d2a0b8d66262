/**
 * The exit codes of every command (CONTRACT.md), the one table the commands, the run's outcome
 * and the docs use: 0 done (or nothing due), 1 failed, 2 usage or configuration error, 4 the
 * backup is stale (`status`), 75 nothing attempted, worth retrying later (EX_TEMPFAIL: the drive
 * is not attached, another run holds the lock).
 */
export const exitCodes = { ok: 0, failed: 1, usage: 2, stale: 4, retryLater: 75 } as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
